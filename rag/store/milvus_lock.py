"""One writer at a time on a Milvus index, with nothing but rows: Milvus has no compare-and-set.

Each writer that wants the lock writes its own row in `rag_<index>_writers`, keyed by its owner token
(host:pid:random), and takes a ticket the way Lamport's bakery does, so two writers racing cannot both win:

1. a writer that sees another's live row gives up at once (IndexLockedError);
2. it writes its row with ticket 0 ("choosing"), reads every row back, and rewrites its row with a ticket one
   above the highest it saw;
3. it waits until no other live row is still choosing (at most CHOOSING_WAIT_S, else it gives up), then wins
   only if no other live row has a lower (ticket, token); a loser deletes its row and gives up.

Whoever checks a rival's row either sees it (choosing, or with its ticket) or wrote its own ticket before the
rival started choosing, so the rival sees that ticket and takes a higher one: at most one writer wins, and in a
race of writers that all get to step 3, exactly one. Reads are Strong, so each sees every write finished before.
A row stays live while its expiry lies ahead (a heartbeat moves it) and, on the writer's own machine, while its
process lives: a writer killed with -9 holds nothing.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.errors import IndexLockedError

if TYPE_CHECKING:
    from pymilvus import MilvusClient

LOCK_TTL_S = 60.0
LOCK_HEARTBEAT_S = 15.0
CHOOSING_WAIT_S = 5.0  # a rival still choosing after this long is stuck: give up rather than guess
_CHOOSING = 0
_STRONG = {"consistency_level": "Strong"}


@dataclass(frozen=True)
class LockRow:
    token: str
    ticket: int
    expires: float

    @property
    def live(self) -> bool:
        return _is_live(self.token, self.expires)


def owner_token() -> str:
    """Names one writer: its machine and process (to tell a dead local writer) and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class WriterLock:
    """`acquire()` or IndexLockedError; `release()` when done. `where` names the index in the error."""

    def __init__(self, client: MilvusClient, prefix: str, where: str, token: str | None = None) -> None:
        self._client = client
        self.collection = f"{prefix}_writers"
        self.where = where
        self.token = token or owner_token()
        self.ticket = _CHOOSING
        self._heartbeat: threading.Thread | None = None
        self._stop = threading.Event()

    def acquire(self) -> None:
        self._ensure_collection()
        rows = self._rows()
        stale = [row.token for row in rows if not row.live]
        if stale:  # writers that died or expired: their rows only get in the way of reading the live ones
            self._client.delete(self.collection, ids=stale)
        if self._rivals(rows):
            raise IndexLockedError(self.where)
        self._write(_CHOOSING)
        try:
            self.ticket = 1 + max((row.ticket for row in self._rows() if row.live), default=0)
            self._write(self.ticket)
            if not self._wins():
                raise IndexLockedError(self.where)
        except BaseException:
            self._delete()
            raise
        self._stop.clear()
        self._heartbeat = threading.Thread(target=self._beat, name="milvus-lock", daemon=True)
        self._heartbeat.start()

    def release(self) -> None:
        if self._heartbeat is None:
            return
        self._stop.set()
        self._heartbeat.join()
        self._heartbeat = None
        self._delete()

    def _wins(self) -> bool:
        deadline = time.monotonic() + CHOOSING_WAIT_S
        while True:
            rivals = self._rivals(self._rows())
            if not any(row.ticket == _CHOOSING for row in rivals):
                return all((self.ticket, self.token) < (row.ticket, row.token) for row in rivals)
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)

    def _rivals(self, rows: list[LockRow]) -> list[LockRow]:
        return [row for row in rows if row.token != self.token and row.live]

    def _rows(self) -> list[LockRow]:
        found = self._client.query(
            self.collection, filter='token != ""', output_fields=["token", "ticket", "expires"], **_STRONG
        )
        return [LockRow(str(r["token"]), int(r["ticket"]), float(r["expires"])) for r in found]

    def _write(self, ticket: int) -> None:
        row = {"token": self.token, "ticket": ticket, "expires": time.time() + LOCK_TTL_S, "_v": [0.0, 0.0]}
        self._client.upsert(self.collection, [row])

    def _delete(self) -> None:
        self._client.delete(self.collection, ids=[self.token])

    def _beat(self) -> None:
        while not self._stop.wait(LOCK_HEARTBEAT_S):
            if not any(row.token == self.token for row in self._rows()):
                return  # expired and removed by another writer: the lock is lost, do not take it back
            self._write(self.ticket)

    def _ensure_collection(self) -> None:
        from pymilvus import DataType, MilvusException
        from pymilvus.client.types import LoadState

        if not self._client.has_collection(self.collection):
            schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("token", DataType.VARCHAR, is_primary=True, max_length=256)
            schema.add_field("ticket", DataType.INT64)
            schema.add_field("expires", DataType.DOUBLE)
            schema.add_field("_v", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
            params = self._client.prepare_index_params()
            params.add_index("_v", index_type="FLAT", metric_type="L2")
            try:
                self._client.create_collection(self.collection, schema=schema, index_params=params, **_STRONG)
            except MilvusException:
                if not self._client.has_collection(self.collection):  # else a rival created it first: fine
                    raise
        if self._client.get_load_state(self.collection)["state"] != LoadState.Loaded:
            self._client.load_collection(self.collection)


def _is_live(token: str, expires: float) -> bool:
    """A row holds until it expires, unless its writer ran on this machine and has died (kill -9)."""
    if expires <= time.time():
        return False
    host, _, rest = token.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
