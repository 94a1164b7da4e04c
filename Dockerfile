FROM python:3.11-slim

# The CPU build of torch, installed before sentence-transformers so pip does not pull CUDA.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RAG_CORPUS_DIR=/app/corpus \
    RAG_INDEX_ROOT=/app/indexes \
    RAG_PROMPTS_DIR=/app/prompts

RUN useradd --create-home --uid 10001 rag
WORKDIR /app

RUN pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0
COPY pyproject.toml README.md ./
COPY rag ./rag
RUN pip install .

COPY corpus ./corpus
COPY prompts ./prompts
RUN rag ingest && chown -R rag:rag /app/indexes

USER rag
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["rag", "serve", "--host", "0.0.0.0", "--port", "8000"]
