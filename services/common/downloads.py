"""Downloads: a stored file streamed in chunks, with its Chinese name and HTTP range requests.

API::

    return file_response(request, storage, row.key, filename=row.original_name,
                         content_type=row.content_type, size=row.size, inline=False, etag=row.sha256)

- The body streams from the storage in chunks (``iter_chunks`` / ``iter_range``; S3 range reads use ``Range``
  on ``GetObject``, local files ``seek``): a 1 GB archive never sits in memory.
- ``Content-Disposition`` per RFC 6266 / 5987: ``attachment; filename="ascii-fallback";
  filename*=UTF-8''<percent-encoded name>``; ``inline=True`` shows PDFs, images and videos in the page (any
  other type is still sent as an attachment). ``X-Content-Type-Options: nosniff`` always.
- ``Accept-Ranges: bytes``; one range ``bytes=a-b``, ``a-`` or ``-n`` is answered with 206 and
  ``Content-Range``; a range past the end with 416 and ``Content-Range: bytes */size``; several ranges, or a
  header that does not parse, get the whole file (RFC 9110 lets a server ignore Range). ``If-Range`` with
  anything but the current ETag gets the whole file. ``HEAD`` gets the headers only.
- ``size``: pass the recorded size (no extra storage call); without it the storage is asked (from a worker
  thread when the response is sent, so an ``async`` route never blocks), and a missing file answers 404 in
  the kernel's error shape before any byte is sent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from services.common.errors import NotFound
from services.common.filenames import display_name
from services.common.storage import CHUNK_SIZE, OCTET_STREAM, FileStorage

# Shown in the page with ``inline=True``; anything else (Office files, OFD, zip) is always an attachment.
INLINE_TYPES = frozenset(
    {"application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "video/quicktime"}
)
_RANGE_RE = re.compile(r"bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*")
# RFC 5987 attr-char beyond letters and digits (which ``quote`` never encodes)
_ATTR_CHARS = "!#$&+-.^_`|~"


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """``attachment; filename="report.pdf"; filename*=UTF-8''%E6%95%B4%E6%94%B9.pdf`` (RFC 6266)."""
    name = display_name(filename)  # no path, no control characters, no quotes
    return f"{'inline' if inline else 'attachment'}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''" + quote(
        name, safe=_ATTR_CHARS
    )


def ascii_fallback(name: str) -> str:
    """An ASCII stand-in for old clients: ``整改报告.pdf`` → ``download.pdf``, ``Q4 汇总 v2.xlsx`` → ``Q4_v2.xlsx``."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""

    def ascii_only(text: str) -> str:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^A-Za-z0-9.\-]+", "_", text).strip("_.-")

    ascii_stem, ascii_ext = ascii_only(stem) or "download", ascii_only(ext)
    return f"{ascii_stem}.{ascii_ext}" if ascii_ext else ascii_stem


def parse_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """The inclusive byte range asked for; ``None`` for the whole file; ``False`` when unsatisfiable."""
    if not header or "," in header:
        return None
    match = _RANGE_RE.fullmatch(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last n bytes
        n = int(last)
        if n == 0 or size == 0:
            return False
        return max(size - n, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # syntactically invalid: ignore the header
    if start >= size:
        return False
    return start, min(end, size - 1)


def file_response(
    request: Request,
    storage: FileStorage,
    key: str,
    *,
    filename: str,
    content_type: str | None = None,
    size: int | None = None,
    inline: bool = False,
    etag: str | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Response:
    """The stored file ``key`` as a streaming response (see the module docstring)."""
    media_type = content_type or OCTET_STREAM
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(filename, inline=inline and media_type in INLINE_TYPES),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=0, must-revalidate",
    }
    if etag:
        headers["ETag"] = f'"{etag}"'
    asked = _Asked(request.method, request.headers.get("range"), request.headers.get("if-range"))
    if size is None:
        return _SizeLater(storage, key, media_type, headers, asked, chunk_size)
    return _respond(storage, key, size, media_type, headers, asked, chunk_size)


@dataclass(frozen=True, slots=True)
class _Asked:
    method: str
    range: str | None
    if_range: str | None


def _respond(
    storage: FileStorage, key: str, size: int, media_type: str, headers: dict[str, str], asked: _Asked, chunk_size: int
) -> Response:
    headers = dict(headers)
    wanted = parse_range(asked.range, size)
    if wanted is not None and asked.if_range is not None and asked.if_range.strip() != headers.get("ETag"):
        wanted = None  # the client's copy is another version (or we cannot tell): send the whole file
    if wanted is False:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)

    status = 200
    body: Iterator[bytes]
    if isinstance(wanted, tuple):
        start, end = wanted
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = end - start + 1
        body = storage.iter_range(key, start, end, chunk_size)  # a generator: nothing is opened for a HEAD
    else:
        length = size
        body = storage.iter_chunks(key, chunk_size)
    headers["Content-Length"] = str(length)
    if asked.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    return StreamingResponse(body, status_code=status, headers=headers, media_type=media_type)


class _SizeLater(Response):
    """Asks the storage for the size from a worker thread when sent, so an ``async`` route never blocks on S3."""

    def __init__(
        self, storage: FileStorage, key: str, media_type: str, headers: dict[str, str], asked: _Asked, chunk_size: int
    ) -> None:
        super().__init__(status_code=200, media_type=media_type)
        self._args = (storage, key, media_type, headers, asked, chunk_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        storage, key, media_type, headers, asked, chunk_size = self._args
        try:
            size = await anyio.to_thread.run_sync(storage.size, key)
        except FileNotFoundError:
            response: Response = JSONResponse(NotFound("文件不存在或已被删除").body(), status_code=404)
        else:
            response = _respond(storage, key, size, media_type, headers, asked, chunk_size)
        await response(scope, receive, send)
