"""One typed settings object, read from RAG_* environment variables (and an optional .env file).

Build it once at start-up and pass it down:

    settings = Settings()                 # RAG_INDEX_NAME=test rag ... overrides
    settings = Settings(corpus_dir=tmp)   # explicit values win over the environment
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="Folder of source files to ingest.")
    index_root: Path = Field(Path("indexes"), description="Folder that holds the built indexes.")
    index_name: str = Field("default", pattern=r"^[A-Za-z0-9_.-]+$", description="Index to build and query.")
    max_source_mb: float = Field(64.0, gt=0, description="Largest source file accepted, in MiB.")

    @property
    def index_dir(self) -> Path:
        return self.index_root / self.index_name


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with a readable error naming the variable that is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"RAG_{str(e['loc'][0]).upper()}={e.get('input')!r}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid setting {problems}") from exc
