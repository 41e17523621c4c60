"""One upload path for evidence documents and photos: the body streams straight into the file storage.

API::

    form = await receive_upload(request, storage, max_size=20 * MIB, accept=EVIDENCE_TYPES, max_files=10)
    form.files      # list[StoredFile] in the order sent (key, sha256, size, content_type, original_name)
    form.fields     # dict[str, str]: the form's text fields (the last value when a name repeats)
    form.by_field   # dict[str, list[StoredFile]]: the files under each field name
    form.getlist("tags") -> list[str]

    stored = await receive_body(request, storage, max_size=10 * MIB, accept=PHOTO_TYPES, original_name="1.jpg")

How: ``multipart/form-data`` is parsed from ``request.stream()`` with python-multipart's streaming parser (not
FastAPI's ``UploadFile``/``Form``, which spool the whole body before the route runs). Each file part goes
piece by piece into ``storage.begin()`` while the next pieces arrive, in one of two ways chosen per file
(``new_sink``): when it is the only body arriving, each piece is hashed on the event loop and queued to a
writer thread of its own (``_QueueSink``); when others arrive too, pieces gather into batches hashed and
written in the thread pool (``_BatchSink``). Either way the store (rename, fsync) and the caller's ``then``
run in one worker thread at the end, and at most a couple of MiB of a file wait in memory. Limits are enforced
while the body arrives: a declared ``Content-Length`` over the bound is refused before reading, a file passing
``max_size`` is refused at that byte, a file whose first kilobyte is none of the accepted kinds is refused
there. The type is decided by content (``services.common.sniffing``),
never by the name or the client's ``Content-Type``; the name is cleaned (``filenames.display_name``) and never
becomes a path (keys are generated). Every refusal is an ``InvalidInput`` naming the form field, in Chinese;
on any failure (refusal, client gone, storage error) the files already stored by this request are deleted
and the one being written is discarded, so nothing half-stored remains.

Deviation from the plan's sketch: ``sniff_type`` returns MIME types (``application/pdf``, ``image/heic``…),
the values ``StoredFile.content_type`` and the download's ``Content-Type`` carry; it lives in
``services.common.sniffing`` and is re-exported here with the type sets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import re
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypedDict, TypeVar, Unpack, overload
from urllib.parse import unquote_to_bytes

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from services.common.errors import InvalidInput
from services.common.sniffing import (
    DOCUMENT_TYPES,
    EVIDENCE_TYPES,
    PDF_HEADER_WINDOW,
    PHOTO_TYPES,
    TYPE_LABELS,
    VIDEO_TYPES,
    labels,
    possible_types,
    sniff_type,
)
from services.common.storage import (
    MIB,
    FileStorage,
    FileTooLarge,
    PendingFile,
    StoredFile,
    display_name,
    format_size,
)

__all__ = [
    "DOCUMENT_TYPES",
    "EVIDENCE_TYPES",
    "PHOTO_TYPES",
    "TYPE_LABELS",
    "VIDEO_TYPES",
    "UploadForm",
    "receive_body",
    "receive_upload",
    "sniff_type",
]

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
_END = object()  # queued after the last piece: store the file
_ABORT = object()  # queued instead: discard it
MAX_FIELD_SIZE = 64 * 1024  # a text field of the form
MAX_FIELDS = 100
MAX_HEADER_SIZE = 16 * 1024  # the headers of one part
FORM_OVERHEAD = 64 * 1024  # boundaries and part headers, on top of the files and fields


@dataclass
class UploadForm:
    """What a multipart upload held: the stored files and the text fields."""

    files: list[StoredFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    by_field: dict[str, list[StoredFile]] = field(default_factory=dict)
    _lists: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def getlist(self, name: str) -> list[str]:
        """Every value sent under ``name`` (checkboxes, repeated fields)."""
        return list(self._lists.get(name, []))


class _Sink:
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

    async def _add(self, data: bytes) -> None:
        raise NotImplementedError

    def _check_head(self) -> None:
        self._checked = True
        if not possible_types(self._head) & self.accept:
            raise _wrong_type(self.field, self.name, self.accept)

    async def finish(self, then: Then[T] | None = None) -> StoredFile | T:
        """Store the file: what is left written, the type checked, the commit (for the local disk:
        rename and fsync) and ``then(stored, durable)`` while the fsync is under way (see
        ``receive_body``), all in one worker thread."""
        if self.size == 0:
            raise InvalidInput.field(self.field, f"「{self.name}」是空文件，请重新选择")
        if not self._checked:
            self._check_head()
        self._received()
        result: StoredFile | T = await self._store(then)
        return result

    async def _store(self, then: Then[T] | None) -> StoredFile | T:
        raise NotImplementedError

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
        stored, durable = pending.commit_started(content_type=content_type, original_name=self.name)
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

    async def aclose(self) -> None:
        """Discard the file unless it was stored; calling it again does nothing."""
        raise NotImplementedError


class _QueueSink(_Sink):
    """The only body arriving (a tablet's photos, one after the other): each piece is hashed on the loop
    as it arrives and queued to a writer thread of its own file, which writes what has queued up in one
    go and, after the last piece, stores the file. The loop waits only when more than ``QUEUE_LIMIT`` is
    queued behind the disk.

    Why so: on two cores every hand-over of the GIL to a busy thread and back costs up to the
    interpreter's switch interval. A writer that also hashed gave the GIL up and won it back twice a
    piece against a busy loop (a 3 MB photo's writes took 6-14 ms in the thread against 3.5 ms on the
    loop); hashing on the loop releases the GIL for the writer exactly while the loop has nothing else
    to do, and the loop hands a piece over with one queue put (no future, no wake-up of the loop)."""

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
        self._over = False

    async def _add(self, data: bytes) -> None:
        try:
            if self._failed:
                raise _WorkerFailed()
            self._pending.take(data)  # the GIL is given up while it runs: a chance for the writer
        except (_WorkerFailed, ValueError):  # the worker ended with an error (and let the file go)
            if self._failed:
                await self._result()  # raises that error
            raise
        self._queue.put(data)
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
                    return self._commit(self._then)
        except BaseException:
            self._failed = True
            self._loop.call_soon_threadsafe(self._room.set)  # a feed waiting for room learns of it
            raise
        finally:
            pending.abort()  # nothing after a commit; else the partial file goes

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
    upload at a time is fastest with the loop hashing and one writer (measured: a tablet's 3 MB photos
    through the gateway, 10-25 % faster); many at once with the hashing spread over the thread pool
    (measured: 20 evidence uploads at once, the queue kind was 20-30 % slower)."""
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


class _Stored:
    """The files stored by one request, deleted again if the request fails."""

    def __init__(self, storage: FileStorage) -> None:
        self.storage = storage
        self.files: list[StoredFile] = []

    async def rollback(self, sink: _Sink | None) -> None:
        if sink is not None:
            await sink.aclose()
        keys = [f.key for f in self.files]
        self.files.clear()
        if keys:
            await anyio.to_thread.run_sync(self._delete, keys)

    def _delete(self, keys: list[str]) -> None:
        _delete_quietly(self.storage, keys)


def _delete_quietly(storage: FileStorage, keys: list[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # the request's own error is the one to report; this one goes to the log
            log.exception("could not delete %s after a failed upload", key)


def _declared_length(request: Request, field: str, bound: int, what: str) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > bound:
        raise InvalidInput.field(field, f"{what}超过大小上限 {format_size(bound)}")


async def receive_upload(
    request: Request,
    storage: FileStorage,
    *,
    max_size: int | None = None,
    accept: frozenset[str] = EVIDENCE_TYPES,
    max_files: int = 10,
    min_files: int = 1,
    field: str = "files",
    max_field_size: int = MAX_FIELD_SIZE,
    max_fields: int = MAX_FIELDS,
) -> UploadForm:
    """Parse a ``multipart/form-data`` body, storing each file part as it streams in.

    ``max_size`` is per file (default: the storage's limit); ``field`` names the form field in messages that
    concern no one part (no files, too many, not multipart). Raises ``InvalidInput``; nothing stays stored then.
    """
    limit = storage.max_size if max_size is None else max_size
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidInput.field(field, "请以 multipart/form-data 表单上传文件")
    bound = max_files * limit + max_fields * max_field_size + FORM_OVERHEAD
    _declared_length(request, field, bound, "上传内容")

    events: list[tuple[str, bytes]] = []
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": lambda: events.append(("begin", b"")),
            "on_header_field": lambda d, s, e: events.append(("hfield", d[s:e])),
            "on_header_value": lambda d, s, e: events.append(("hvalue", d[s:e])),
            "on_header_end": lambda: events.append(("hend", b"")),
            "on_headers_finished": lambda: events.append(("headers", b"")),
            "on_part_data": lambda d, s, e: events.append(("data", d[s:e])),
            "on_part_end": lambda: events.append(("end", b"")),
        },
    )
    form = UploadForm()
    stored = _Stored(storage)
    reader = _FormReader(storage, form, stored, field=field, limit=limit, accept=accept, max_files=max_files)
    reader.max_field_size, reader.max_fields = max_field_size, max_fields
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > bound:
                raise InvalidInput.field(field, f"上传内容超过大小上限 {format_size(bound)}")
            try:
                parser.write(chunk)
            except MultipartParseError as exc:
                raise InvalidInput.field(field, "上传内容格式不正确，请重新上传") from exc
            for event in events:
                await reader.handle(*event)
            events.clear()
        try:
            parser.finalize()
        except MultipartParseError as exc:
            raise InvalidInput.field(field, "上传内容不完整，请重新上传") from exc
        if reader.sink is not None:
            raise InvalidInput.field(field, "上传内容不完整，请重新上传")
        if len(stored.files) < min_files:
            raise InvalidInput.field(field, "请选择要上传的文件")
    except BaseException:
        await stored.rollback(reader.sink)
        raise
    form.files = list(stored.files)
    return form


class _FormReader:
    """Turns the parser's events into text fields and stored files."""

    max_field_size = MAX_FIELD_SIZE
    max_fields = MAX_FIELDS

    def __init__(
        self,
        storage: FileStorage,
        form: UploadForm,
        stored: _Stored,
        *,
        field: str,
        limit: int,
        accept: frozenset[str],
        max_files: int,
    ) -> None:
        self.storage = storage
        self.form = form
        self.stored = stored
        self.field = field
        self.limit = limit
        self.accept = accept
        self.max_files = max_files
        self.sink: _Sink | None = None
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._header_size = 0
        self._part_name = ""
        self._value: bytearray | None = None
        self._optional = False
        self._field_count = 0

    async def handle(self, kind: str, data: bytes) -> None:
        if kind == "data":
            if self.sink is not None:
                await self.sink.feed(data)
            elif self._value is not None:
                self._value += data
                if len(self._value) > self.max_field_size:
                    raise InvalidInput.field(self._part_name, f"内容过长（上限 {format_size(self.max_field_size)}）")
        elif kind == "begin":
            self._headers, self._header_size = {}, 0
        elif kind in ("hfield", "hvalue"):
            self._header_size += len(data)
            if self._header_size > MAX_HEADER_SIZE:
                raise InvalidInput.field(self.field, "上传内容格式不正确（表单字段头过长）")
            if kind == "hfield":
                self._header_name += data
            else:
                self._header_value += data
        elif kind == "hend":
            self._headers[self._header_name.lower()] = self._header_value
            self._header_name, self._header_value = b"", b""
        elif kind == "headers":
            self._start_part()
        elif kind == "end":
            await self._end_part()

    def _start_part(self) -> None:
        disposition = self._headers.get(b"content-disposition", b"").decode("latin-1")
        _, options = parse_options_header(disposition)
        name = _decode(options.get(b"name", b""))
        self._part_name = name
        filename = _extended_filename(disposition) or options.get(b"filename")
        if filename is None:
            self._field_count += 1
            if self._field_count > self.max_fields:
                raise InvalidInput.field(self.field, f"表单字段过多（上限 {self.max_fields} 个）")
            self._value = bytearray()
            return
        if len(self.stored.files) >= self.max_files:
            raise InvalidInput.field(name or self.field, f"一次最多上传 {self.max_files} 个文件")
        display = display_name(_decode(filename))
        self.sink = new_sink(self.storage, field=name or self.field, name=display, limit=self.limit, accept=self.accept)
        # A file input left empty: browsers send the part with an empty name and no bytes; it is skipped.
        self._optional = not filename

    async def _end_part(self) -> None:
        if self.sink is not None:
            sink, self.sink = self.sink, None
            if self._optional and sink.size == 0:
                await sink.aclose()
                return
            try:
                stored = await sink.finish()
            except BaseException:
                await sink.aclose()
                raise
            self.stored.files.append(stored)
            self.form.by_field.setdefault(sink.field, []).append(stored)
        elif self._value is not None:
            try:
                text = self._value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInput.field(self._part_name, "不是有效的 UTF-8 文本") from exc
            self.form.fields[self._part_name] = text
            self.form._lists.setdefault(self._part_name, []).append(text)
            self._value = None


_EXTENDED_FILENAME = re.compile(r"""filename\*\s*=\s*([\w!#$%&+^`{}~.-]+)'[\w-]*'([^;\s]+)""", re.IGNORECASE)


def _extended_filename(disposition: str) -> bytes | None:
    """``filename*=UTF-8''%E6%95%B4.pdf`` (RFC 5987), which some non-browser clients send instead of ``filename``.

    RFC 7578 leaves it out of forms, and python-multipart ignores it; a file sent that way is still a file.
    """
    match = _EXTENDED_FILENAME.search(disposition)
    if not match:
        return None
    charset, value = match.groups()
    try:
        return unquote_to_bytes(value).decode(charset).encode()
    except (LookupError, UnicodeDecodeError):
        return unquote_to_bytes(value)


def _decode(raw: bytes) -> str:
    """A header parameter: browsers send UTF-8 bytes in quotes; some old clients GB18030."""
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


class BodyOptions(TypedDict, total=False):
    """How ``receive_body`` takes a body: at most ``max_size`` bytes (the storage's limit), of the
    ``accept`` types (``PHOTO_TYPES``), named ``original_name`` (""), errors naming ``field`` ("file")."""

    max_size: int | None
    accept: frozenset[str]
    original_name: str
    field: str


@overload
async def receive_body(
    request: Request, storage: FileStorage, *, then: None = None, **options: Unpack[BodyOptions]
) -> StoredFile: ...


@overload
async def receive_body(
    request: Request, storage: FileStorage, *, then: Then[T], **options: Unpack[BodyOptions]
) -> T: ...


async def receive_body(
    request: Request,
    storage: FileStorage,
    *,
    then: Then[T] | None = None,
    **options: Unpack[BodyOptions],
) -> StoredFile | T:
    """Store a raw request body (``PUT`` of one photo) the same way: streamed, typed by content, bounded.

    ``then(stored, durable)``, when given, runs in the worker thread that stored the file, right after
    it is in place (e.g. the database row that names the file: one thread hop for both), and its result
    is returned; if it raises, the stored file is deleted again. It runs while the file's fsync is under
    way: ``durable()`` waits for it (and raises if the bytes could not be kept), and must be called
    before anything naming ``stored.key`` is committed — the row is prepared while the disk works,
    then committed once the bytes are safe. The kernel calls it again after ``then``, so the answer
    never goes out before the bytes are on disk.
    """
    max_size = options.get("max_size")
    return await _receive_stream(
        request.stream(),
        storage,
        limit=storage.max_size if max_size is None else max_size,
        accept=options.get("accept", PHOTO_TYPES),
        name=options.get("original_name", ""),
        field=options.get("field", "file"),
        declared=request.headers.get("content-length"),
        then=then,
    )


async def _receive_stream(
    chunks: AsyncIterator[bytes],
    storage: FileStorage,
    *,
    limit: int,
    accept: frozenset[str],
    name: str,
    field: str,
    declared: str | None,
    then: Then[T] | None = None,
) -> StoredFile | T:
    shown = display_name(name)
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(field, shown, limit)
    sink = new_sink(storage, field=field, name=shown, limit=limit, accept=accept)
    try:
        async for chunk in chunks:
            if chunk:
                await sink.feed(chunk)
        return await sink.finish(then)
    finally:
        await sink.aclose()
