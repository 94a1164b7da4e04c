"""Rerank fused passages with a sentence-transformers CrossEncoder, which reads the question and a passage
together: more precise than either retriever and much slower, so it scores only the top fused candidates.

    reranker = get_reranker("/models/bge-reranker-v2-m3")   # RAG_RERANK_MODEL; loaded once per process
    passages = reranker.rerank("去年湖州规上工业增加值是多少？", passages)

Nothing is downloaded at run time (`local_files_only`); a model that is not on disk is a clear error.
"""

from __future__ import annotations

import functools
import math

from rag.embedding.sbert_backend import load_offline
from rag.errors import ConfigError
from rag.models import Passage


class Reranker:
    def __init__(self, model: str) -> None:
        self._model = load_offline(
            "CrossEncoder",
            model,
            "RAG_RERANK_MODEL",
            "a local CrossEncoder directory, or unset it to skip reranking",
        )
        if self._model.num_labels != 1:
            raise ConfigError(
                f"{model!r} is a classifier with {self._model.num_labels} labels, not a reranker (one relevance "
                "score per pair); set RAG_RERANK_MODEL to a reranking CrossEncoder"
            )

    def rerank(self, question: str, passages: list[Passage]) -> list[Passage]:
        """The passages, most relevant first, each with the cross-encoder's relevance (0..1) as its `score`."""
        if not passages:
            return []
        import torch

        pairs = [(question, passage.text) for passage in passages]
        logits = self._model.predict(
            pairs, batch_size=len(pairs), activation_fn=torch.nn.Identity(), show_progress_bar=False
        )
        # Ordered by the logit, where confident pairs still differ, then scored by its sigmoid whatever activation
        # the model was saved with (none for some): the per-article cap in retrieval scales scores down, which
        # only demotes a score that is not negative.
        ranked = sorted(zip(passages, logits.tolist(), strict=True), key=lambda pair: pair[1], reverse=True)
        return [
            passage.model_copy(update={"rank": rank, "score": round(_sigmoid(logit), 6)})
            for rank, (passage, logit) in enumerate(ranked, start=1)
        ]


def _sigmoid(logit: float) -> float:
    return 0.5 * (1.0 + math.tanh(logit / 2))  # the logistic function, without exp's overflow for large logits


@functools.lru_cache(maxsize=2)
def get_reranker(model: str) -> Reranker:
    """One instance per model and process: loading the model is the slow part."""
    return Reranker(model)
