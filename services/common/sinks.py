"""How a file's bytes go into the storage while its body arrives (``uploads`` parses the bodies).

``new_sink(storage, field=, name=, limit=, accept=)`` gives one per file: ``await sink.feed(piece)`` as the
pieces come (size and type checked at once), ``await sink.finish(then)`` to store it, ``await sink.aclose()``
in any case (discards it unless stored). Two kinds, chosen per file by how many bodies arrive in this
process: ``_QueueSink`` (the only one: a hasher thread and a writer thread of its own) and ``_BatchSink``
(several: batches hashed and written in the thread pool). See each class for why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import anyio

from services.common.errors import InvalidInput
from services.common.sniffing import PDF_HEADER_WINDOW, labels, possible_types, sniff_type
from services.common.storage import MIB, FileStorage, FileTooLarge, PendingFile, StoredFile, format_size

log = logging.getLogger(__name__)
T = TypeVar("T")
# ``then(stored, durable)``: see ``receive_body``.
Then = Callable[[StoredFile, Callable[[], None]], T]

# The loop waits (stops reading the body) only when more than this is queued behind the disk: at most
# about that much of a file in memory; a fast client is never held up by a disk that keeps pace.
QUEUE_LIMIT = 2 * MIB
# _BatchSink: a gathered batch goes to the thread pool as soon as no write is in progress and it holds
# EAGER_BATCH bytes; behind a write still in progress it gathers up to WRITE_BATCH, then the loop waits.
EAGER_BATCH = 128 * 1024
WRITE_BATCH = MIB
# One thread per file being received (each for its whole upload, waiting for the next piece while the
# client sends it); a separate pool, so slow uploads never hold up the threads sync routes run in.
# More files at once than this wait for a thread (their pieces queue up to QUEUE_LIMIT meanwhile).
_WRITERS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="upload")
# A ``_QueueSink``'s hasher: a pool apart, as a writer waits for its file's hasher (never the reverse).
_HASHERS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="upload-hash")
_END = object()  # queued after the last piece: store the file
_ABORT = object()  # queued instead: discard it


class _Sink(ABC):
    """One file on its way into the storage: checks the type early and the size always (on the loop, as
    the pieces arrive), stores it at the end and runs ``then``. Two ways to hash and write the pieces,
    chosen per file by ``new_sink``: ``_QueueSink`` when it is the only body arriving, ``_BatchSink``
    when others arrive too."""

    def __init__(self, storage: FileStorage, *, field: str, name: str, limit: int, accept: frozenset[str]) -> None:
        self.field = field
        self.name = name
        self.limit = limit
        self.accept = accept
        self.size = 0
        self._head = b""
        self._checked = False
        self._storage = storage
        self._pending: PendingFile = storage.begin(max_size=limit)
        self._sync = True  # ``finish(sync=False)``: the caller's barrier makes the file durable
        _State.receiving += 1
        self._receiving = True

    async def feed(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise _too_large(self.field, self.name, self.limit)
        if not self._checked and len(self._head) < PDF_HEADER_WINDOW:
            self._head += data[: PDF_HEADER_WINDOW - len(self._head)]
            if len(self._head) >= PDF_HEADER_WINDOW:
                self._check_head()
        await self._add(data)

    @abstractmethod
    async def _add(self, data: bytes) -> None:
        """Take one piece (its size and type already checked)."""

    def _check_head(self) -> None:
        self._checked = True
        if not possible_types(self._head) & self.accept:
            raise _wrong_type(self.field, self.name, self.accept)

    async def finish(self, then: Then[T] | None = None, *, sync: bool = True) -> StoredFile | T:
        """Store the file: what is left written, the type checked, the commit (for the local disk:
        rename and fsync) and ``then(stored, durable)`` while the fsync is under way (see
        ``receive_body``), all in one worker thread. ``sync=False``: see ``receive_body``."""
        self._sync = sync
        if self.size == 0:
            raise InvalidInput.field(self.field, f"「{self.name}」是空文件，请重新选择")
        if not self._checked:
            self._check_head()
        self._received()
        result: StoredFile | T = await self._store(then)
        return result

    @abstractmethod
    async def _store(self, then: Then[T] | None) -> StoredFile | T:
        """Write what is left, then ``_commit(then)`` in a worker thread."""

    def _received(self) -> None:
        """The body has ended (or will not go on): this file no longer counts as arriving."""
        if self._receiving:
            self._receiving = False
            _State.receiving -= 1

    def _commit(self, then: Then[T] | None) -> StoredFile | T:
        """In the worker thread, once every byte is written: type, commit, ``then``, durable."""
        pending = self._pending
        content_type = sniff_type(pending.head, pending.file)
        if content_type is None or content_type not in self.accept:
            raise _wrong_type(self.field, self.name, self.accept)
        stored, durable = pending.commit_started(content_type=content_type, original_name=self.name, sync=self._sync)
        if then is None:
            durable()
            return stored
        try:
            result = then(stored, durable)
            durable()  # in case ``then`` did not wait: the answer never goes before the bytes are on disk
            return result
        except BaseException:
            with contextlib.suppress(Exception):  # its own failure is the one to report
                durable()
            _delete_quietly(self._storage, [stored.key])
            raise

    @abstractmethod
    async def aclose(self) -> None:
        """Discard the file unless it was stored; calling it again does nothing."""


class _QueueSink(_Sink):
    """The only body arriving (a tablet's photos, one after the other): the loop only receives, counts
    and checks each piece and queues it twice, to a hasher thread and to a writer thread of this file;
    the writer writes what has queued up in one go and, after the last piece and the last hash, stores
    the file. The loop waits only when more than ``QUEUE_LIMIT`` is queued behind the disk.

    Why so: the loop is the bottleneck of a photo's upload (it receives every byte); SHA-256 of 3 MB was
    2.2 ms of it. In a thread of its own (the GIL released while it runs) the hash runs on the other
    core while the loop receives; measured on this two-core machine with the photo's fsync left to the
    inspection's submit, a photo through the gateway 17.4 -> 16.2 ms (median of 300). Each piece is
    handed over with one queue put per thread (no future, no wake-up of the loop). Earlier, with the
    fsync waited for before the answer, the hasher's lag after the last byte (0.8-1 ms) cost as much as
    it saved, and a writer that also hashed fell behind (6-14 ms of writes for 3 MB)."""

    def __init__(self, storage: FileStorage, *, field: str, name: str, limit: int, accept: frozenset[str]) -> None:
        super().__init__(storage, field=field, name=name, limit=limit, accept=accept)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._sent = 0  # bytes queued: counted by the loop only
        self._written = 0  # bytes written: counted by the worker only
        self._waiting = False  # the loop waits for room (set by the loop, read by the worker)
        self._failed = False  # the worker has ended with an error
        self._room = asyncio.Event()
        self._then: Then[Any] | None = None
        self._loop = asyncio.get_running_loop()
        self._worker: asyncio.Future[Any] = self._loop.run_in_executor(_WRITERS, self._work)
        self._hashes: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._hasher = _HASHERS.submit(self._hash_work)
        self._over = False

    async def _add(self, data: bytes) -> None:
        try:
            if self._failed:
                raise _WorkerFailed()
            self._pending.count(data)
        except (_WorkerFailed, ValueError):  # the worker ended with an error (and let the file go)
            if self._failed:
                await self._result()  # raises that error
            raise
        self._queue.put(data)
        self._hashes.put(data)
        self._sent += len(data)
        if self._sent - self._written > QUEUE_LIMIT:
            await self._wait_for_room()

    async def _wait_for_room(self) -> None:
        while self._sent - self._written > QUEUE_LIMIT and not self._failed:
            self._room.clear()
            self._waiting = True
            if self._sent - self._written <= QUEUE_LIMIT or self._failed:  # the worker went on meanwhile
                break
            await self._room.wait()
        self._waiting = False
        if self._failed:
            await self._result()

    async def _store(self, then: Then[T] | None) -> StoredFile | T:
        self._then = then  # read by the worker after it takes _END (the queue orders the two)
        self._over = True
        self._hashes.put(_END)
        self._queue.put(_END)
        result: StoredFile | T = await self._result()
        return result

    async def _result(self) -> Any:
        try:
            return await self._worker
        except FileTooLarge as exc:
            raise _too_large(self.field, self.name, self.limit) from exc

    def _work(self) -> Any:
        """The worker: the pieces into the pending file until ``_END`` (store it) or ``_ABORT``."""
        pending = self._pending
        try:
            while True:
                pieces, last = self._take()
                if last is _ABORT:
                    return None
                if pieces:
                    data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
                    pending.put(data)
                    self._written += len(data)
                    if self._waiting:
                        self._loop.call_soon_threadsafe(self._room.set)
                if last is _END:
                    self._hasher.result()  # the digest complete
                    return self._commit(self._then)
        except BaseException:
            self._failed = True
            self._loop.call_soon_threadsafe(self._room.set)  # a feed waiting for room learns of it
            raise
        finally:
            pending.abort()  # nothing after a commit; else the partial file goes

    def _hash_work(self) -> None:
        """The hasher: SHA-256 of the pieces in order (the GIL released while it runs), until the end."""
        pending = self._pending
        while True:
            item = self._hashes.get()
            if not isinstance(item, bytes):
                return
            pending.hash(item)

    def _take(self) -> tuple[list[bytes], object]:
        """The next piece and every one queued behind it (written as one: each write gives up the GIL and
        must win it back from the busy loop; a writer that falls behind so does fewer, larger writes),
        and ``_END``/``_ABORT`` if it came."""
        pieces: list[bytes] = []
        item = self._queue.get()
        while True:
            if item is _END or item is _ABORT:
                return pieces, item
            assert isinstance(item, bytes)
            pieces.append(item)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return pieces, None

    async def aclose(self) -> None:
        if not self._over:
            self._over = True
            self._received()
            self._hashes.put(_ABORT)
            self._queue.put(_ABORT)
        await asyncio.wait([self._worker])  # its outcome no longer matters here, only that it is over
        if not self._worker.cancelled():
            self._worker.exception()  # retrieved, so asyncio does not log it


class _BatchSink(_Sink):
    """Other bodies arriving too (a burst of evidence uploads): the pieces gather into batches that are
    hashed and written in the thread pool, one batch in flight per file while the next one gathers, so
    the hashing of many files runs on every core at once (the GIL is released while it runs) and the
    loop, the bottleneck then, only receives. A batch goes as soon as the one before is written (from
    ``EAGER_BATCH``); behind a write still in progress it gathers up to ``WRITE_BATCH``, then the loop
    waits for that write."""

    def __init__(self, storage: FileStorage, *, field: str, name: str, limit: int, accept: frozenset[str]) -> None:
        super().__init__(storage, field=field, name=name, limit=limit, accept=accept)
        self._batch: list[bytes] = []
        self._batch_size = 0
        self._writing: asyncio.Future[None] | None = None
        self._written: _Written | None = None

    async def _add(self, data: bytes) -> None:
        self._batch.append(data)
        self._batch_size += len(data)
        if self._batch_size >= WRITE_BATCH or (
            self._batch_size >= EAGER_BATCH and (self._writing is None or self._writing.done())
        ):
            await self._flush()

    async def _flush(self) -> None:
        """Wait for the batch in flight (no wait when it is written already), then send the gathered one off."""
        await self._drain()
        if self._batch:
            batch, self._batch, self._batch_size = self._batch, [], 0
            self._written = _Written()
            self._writing = asyncio.get_running_loop().run_in_executor(None, self._write_batch, batch, self._written)

    def _write(self, batch: list[bytes]) -> None:
        for chunk in batch:
            self._pending.write(chunk)

    def _write_batch(self, batch: list[bytes], written: _Written) -> None:
        try:
            self._write(batch)
        except BaseException as exc:
            written.error = exc
            raise
        finally:
            written.set()  # the commit's thread may be waiting for this batch (see ``_store``)

    async def _drain(self) -> None:
        if self._writing is not None:
            writing, self._writing = self._writing, None
            try:
                await writing
            except FileTooLarge as exc:
                raise _too_large(self.field, self.name, self.limit) from exc

    async def _store(self, then: Then[T] | None) -> StoredFile | T:
        # The batch in flight is not awaited here: the commit's thread waits for it (one wake-up of
        # the loop fewer on the way to the answer); its outcome is read there, from its future.
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.add_done_callback(_retrieved)
        batch, self._batch, self._batch_size = self._batch, [], 0
        waiting_for = self._written if writing is not None else None
        result: StoredFile | T = await anyio.to_thread.run_sync(self._commit_batch, batch, then, waiting_for)
        return result

    def _commit_batch(self, batch: list[bytes], then: Then[T] | None, written: _Written | None) -> StoredFile | T:
        try:
            if written is not None:  # the batch before this one, still being written by another thread
                written.wait()
                if written.error is not None:
                    raise written.error
            self._write(batch)
        except FileTooLarge as exc:
            raise _too_large(self.field, self.name, self.limit) from exc
        return self._commit(then)

    async def aclose(self) -> None:
        self._received()
        writing, self._writing = self._writing, None
        try:
            if writing is not None:
                await asyncio.wait([writing])  # its outcome no longer matters, only that it is over
                if not writing.cancelled():
                    writing.exception()  # retrieved, so asyncio does not log it
        finally:
            self._pending.abort()


def new_sink(storage: FileStorage, *, field: str, name: str, limit: int, accept: frozenset[str]) -> _Sink:
    """A ``_QueueSink`` when no other body is arriving in this process, else a ``_BatchSink``: one
    upload at a time is fastest with the loop only receiving, one hasher and one writer (measured: a
    tablet's 3 MB photos through the gateway, 10-25 % faster than batches); many at once with the
    hashing spread over the thread pool (measured: 20 evidence uploads at once, the queue kind was
    20-30 % slower)."""
    kind = _QueueSink if _State.receiving == 0 else _BatchSink
    return kind(storage, field=field, name=name, limit=limit, accept=accept)


class _Written(threading.Event):
    """Set when a batch's write has ended; ``error`` is what it raised, if anything."""

    error: BaseException | None = None


def _retrieved(future: asyncio.Future[None]) -> None:
    """A batch's outcome is read by the commit's thread (``_Written.error``); mark the future's
    read too, so asyncio does not log it as never retrieved."""
    if not future.cancelled():
        future.exception()


class _State:
    """What the sinks of this process share: how many files' bodies are arriving (counted on the loop)."""

    receiving = 0


class _WorkerFailed(Exception):
    """The writer thread has ended with an error; ``_Sink._result`` raises that one."""


def _too_large(field: str, name: str, limit: int) -> InvalidInput:
    return InvalidInput.field(field, f"「{name}」超过大小上限 {format_size(limit)}")


def _wrong_type(field: str, name: str, accept: frozenset[str]) -> InvalidInput:
    return InvalidInput.field(field, f"「{name}」的文件类型不支持（按文件内容判断），仅接受 {labels(accept)} 文件")


def _delete_quietly(storage: FileStorage, keys: list[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # the request's own error is the one to report; this one goes to the log
            log.exception("could not delete %s after a failed upload", key)
