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
piece by piece into ``storage.begin()`` while the next pieces arrive (``services.common.sinks``), in one of
two ways chosen per file: when it is the only body arriving, each piece is queued to a hasher thread and a
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

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TypedDict, Unpack, overload
from urllib.parse import unquote_to_bytes

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from services.common.errors import InvalidInput
from services.common.sinks import T, Then, _delete_quietly, _Sink, _too_large, new_sink
from services.common.sniffing import (
    DOCUMENT_TYPES,
    EVIDENCE_TYPES,
    PHOTO_TYPES,
    TYPE_LABELS,
    VIDEO_TYPES,
    sniff_type,
)
from services.common.storage import (
    FileStorage,
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
    ``accept`` types (``PHOTO_TYPES``), named ``original_name`` (""), errors naming ``field`` ("file");
    ``sync`` (True): the answer waits for the disk (see ``receive_body``)."""

    max_size: int | None
    accept: frozenset[str]
    original_name: str
    field: str
    sync: bool


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

    ``sync=False`` is for a client that keeps its copy until a later step of its own has answered (the
    tablet keeps an inspection's photos until its submit): the file's sync is started as it is stored
    but not waited for, ``durable()`` waits for nothing, and that later step is the barrier
    (``storage.make_durable`` of the keys kept), which reports any file a crash lost meanwhile. Each
    body is answered without waiting for the disk, while the disk writes it out during the next.
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
        sync=options.get("sync", True),
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
    sync: bool = True,
) -> StoredFile | T:
    shown = display_name(name)
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(field, shown, limit)
    sink = new_sink(storage, field=field, name=shown, limit=limit, accept=accept)
    try:
        async for chunk in chunks:
            if chunk:
                await sink.feed(chunk)
        return await sink.finish(then, sync=sync)
    finally:
        await sink.aclose()
