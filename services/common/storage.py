"""File storage for evidence documents and inspection photos: local disk or S3-compatible object storage.

Writing: ``put(data)`` for bytes or a file object; ``begin()`` for content that arrives in pieces (an HTTP
body): ``pending.write(chunk)`` hashes, counts and stops at the size limit, ``pending.commit(content_type=…,
original_name=…)`` stores it under a new key, ``pending.abort()`` (or leaving the ``with`` block without
committing) leaves nothing behind. The pieces go to a temporary file (local disk: next to the final path, then
renamed; S3: a spool that spills to disk above ``s3_storage.SPOOL_SIZE``, then one PUT), so the type can be decided from
the whole, seekable content before anything is stored. Reading: ``open``, ``iter_chunks``, ``iter_range``
(inclusive byte range, for HTTP range requests), ``size``.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import uuid
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

from services.common.disk import (
    START_WRITEBACK,
    SYNC_FILE_RANGE_WRITE,
    WRITEBACK_STEP,
    fsync_started,
    make_dirs,
    sync_paths_soon,
    sync_paths_started,
)
from services.common.filenames import display_name, format_size

MIB = 1024 * 1024
DEFAULT_MAX_SIZE = 50 * MIB
CHUNK_SIZE = MIB
SNIFF_SIZE = 8192

OCTET_STREAM = "application/octet-stream"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"
OFD = "application/ofd"

# The extension a key gets is chosen from the sniffed type, never from the client's file name.
EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/zip": ".zip",
    XLSX: ".xlsx",
    DOCX: ".docx",
    PPTX: ".pptx",
    "text/plain": ".txt",
    "text/csv": ".csv",
    DOC: ".doc",
    XLS: ".xls",
    PPT: ".ppt",
    OFD: ".ofd",
    "image/heic": ".heic",
    "image/heif": ".heif",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
}

KEY_RE = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}(\.[a-z0-9]{1,5})?")
# Characters that mislead on screen or break a download's file name: path separators, Windows-reserved
# punctuation. Control and format characters (e.g. U+202E, which reverses the text) are removed as well.


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What the storage keeps about one file; the caller records it next to the domain row."""

    key: str  # generated, e.g. "3f/a2/<uuid hex>.pdf"; the only handle to the bytes
    sha256: str  # hex digest of the content
    size: int  # bytes
    content_type: str  # sniffed from the content, not taken from the client
    original_name: str  # the client's file name, cleaned for display only; never part of a path


class FileTooLarge(ValueError):
    """The upload is over the size limit; the message names the limit in Chinese."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"文件大小超过上限 {format_size(limit)}")


class EmptyFile(ValueError):
    """The upload has no content."""

    def __init__(self) -> None:
        super().__init__("文件为空，请重新选择文件")


class FileStorage(ABC):
    """One interface for every stored file, whatever the backend (``LocalStorage``, ``S3Storage``)."""

    max_size: int

    def put(
        self,
        data: bytes | BinaryIO,
        *,
        original_name: str,
        content_type: str | None = None,
        max_size: int | None = None,
    ) -> StoredFile:
        """Store ``data`` under a new key. ``content_type`` is the client's claim and is not trusted."""
        source: BinaryIO = io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
        with self.begin(max_size=max_size) as pending:
            while chunk := source.read(CHUNK_SIZE):
                pending.write(chunk)
            return pending.commit(content_type=pending.sniff(content_type), original_name=original_name)

    @abstractmethod
    def begin(self, *, max_size: int | None = None) -> PendingFile:
        """A new file written piece by piece (see the module docstring); use it as a context manager."""

    @abstractmethod
    def open(self, key: str) -> bytes:
        """The whole content; raises FileNotFoundError when there is no such file."""

    @abstractmethod
    def iter_range(self, key: str, start: int, end: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` (both included, as in HTTP), in chunks."""

    @abstractmethod
    def size(self, key: str) -> int:
        """The size in bytes; raises FileNotFoundError when there is no such file."""

    @abstractmethod
    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The content in chunks, for streaming a download."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the file; removing a missing file is not an error."""

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def make_durable(self, sizes: Mapping[str, int]) -> list[str]:
        """The barrier for files stored with ``sync=False`` (``receive_body(sync=False)``): returns once
        every file of ``sizes`` (key -> the size recorded for it) that is whole is on disk, with the
        keys of those that are not (missing, or of another size: lost in a crash before the barrier),
        for the caller to forget and have sent again."""
        lost, wait = self.make_durable_started(sizes)
        wait()
        return lost

    def make_durable_started(self, sizes: Mapping[str, int]) -> tuple[list[str], Callable[[], None]]:
        """As ``make_durable``, but back at once with the lost keys and ``wait()``, which returns when the
        others are on disk (raising if they cannot be): the caller prepares what relies on them (a row,
        not yet committed) while the disk works, and waits before it commits. A backend that stores
        durably at once (S3) has nothing to wait for: it only checks that each file is there, whole."""
        lost = []
        for key, size in sizes.items():
            try:
                if self.size(key) != size:
                    lost.append(key)
            except FileNotFoundError:
                lost.append(key)
        return lost, _stored


def _looks_like_text(head: bytes, truncated: bool) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 with a byte-order mark
    if any(b < 0x20 and b not in b"\t\n\r\f" for b in head) or b"\x7f" in head:
        return False  # NUL and other control bytes: binary
    # A cut-off head may end inside a multi-byte character: then allow up to 3 bytes to go.
    cuts = range(4) if truncated else range(1)
    for encoding in ("utf-8", "gb18030"):  # Chinese office files are often in GBK/GB18030
        for cut in cuts:
            try:
                head[: len(head) - cut].decode(encoding)
            except UnicodeDecodeError:
                continue
            return True
    return False


def _sniff_zip(file: IO[bytes]) -> str:
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return OCTET_STREAM
    if "[Content_Types].xml" in names:
        for prefix, kind in (("xl/", XLSX), ("word/", DOCX), ("ppt/", PPTX)):
            if any(n.startswith(prefix) for n in names):
                return kind
    return "application/zip"


def sniff_content_type(head: bytes, file: IO[bytes] | None = None, *, truncated: bool = False) -> str:
    """The type told by the first bytes (and, for a zip, by its entries); octet-stream when unknown.

    ``file``, when given, is the whole seekable content, needed to tell xlsx/docx from a plain zip.
    ``truncated`` says that ``head`` is only the start of a longer content.
    """
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if file is None:
            return "application/zip"
        file.seek(0)
        return _sniff_zip(file)
    if head and _looks_like_text(head, truncated):
        return "text/plain"
    return OCTET_STREAM


class PendingFile:
    """A file being written piece by piece: hashed and counted as it comes, stored only by ``commit``.

    Subclasses keep the pieces in ``self.file`` (seekable) and store them in ``_store``.
    """

    def __init__(self, file: IO[bytes], limit: int) -> None:
        self.file = file
        self.limit = limit
        self.size = 0
        self.head = b""  # the first SNIFF_SIZE bytes, for deciding the type
        self._digest = hashlib.sha256()
        self._done = False

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def write(self, chunk: bytes) -> None:
        """Add ``chunk``; raises FileTooLarge (and forgets everything) as soon as the limit is passed."""
        self.take(chunk)
        self.put(chunk)

    def take(self, chunk: bytes) -> None:
        """The first half of ``write``: count, bound, hash ``chunk`` (which ``put`` then writes, in the
        same order; the two may run in different threads)."""
        self.count(chunk)
        self._digest.update(chunk)

    def count(self, chunk: bytes) -> None:
        """``take`` without the hashing, which ``hash`` then does (in order; it may run in another thread)."""
        if self._done:
            raise ValueError("文件已经保存或放弃，不能继续写入")
        self.size += len(chunk)
        if self.size > self.limit:
            self.abort()
            raise FileTooLarge(self.limit)
        if len(self.head) < SNIFF_SIZE:
            self.head += chunk[: SNIFF_SIZE - len(self.head)]

    def hash(self, chunk: bytes) -> None:
        self._digest.update(chunk)

    def put(self, chunk: bytes) -> None:
        """The second half of ``write``: the bytes into the file."""
        self.file.write(chunk)

    def sniff(self, claimed_type: str | None = None) -> str:
        """The type told by the content so far (see ``sniff_content_type``); the claim can only say CSV."""
        self.file.flush()
        content_type = sniff_content_type(self.head, self.file, truncated=self.size > len(self.head))
        # The claim may only narrow plain text down to CSV; it can never make a file an image or a PDF.
        if content_type == "text/plain" and (claimed_type or "").split(";")[0].strip().lower() == "text/csv":
            content_type = "text/csv"
        return content_type

    def commit(self, *, content_type: str, original_name: str) -> StoredFile:
        """Store what was written under a new key (its extension from ``content_type``)."""
        stored, durable = self.commit_started(content_type=content_type, original_name=original_name)
        durable()
        return stored

    def commit_started(
        self, *, content_type: str, original_name: str, sync: bool = True
    ) -> tuple[StoredFile, Callable[[], None]]:
        """As ``commit``, but back as soon as the file is in place, with ``durable()``, which returns
        once the bytes and the name are on disk (raises, the file gone, if they cannot be). Nothing
        that names the key may be committed before ``durable()`` has returned; call it in any case
        (it also releases the file), more than once if convenient.

        ``sync=False``: the file's sync is started but not waited for (``durable()`` only releases
        it); the caller owns the barrier, ``FileStorage.make_durable``, before anything relies on the
        bytes outliving a crash."""
        if self._done:
            raise ValueError("文件已经保存或放弃")
        if self.size == 0:
            self.abort()
            raise EmptyFile()
        key = _new_key(self.sha256, content_type)
        try:
            self.file.flush()
            self.file.seek(0)
            landed = self._store_started(key, content_type, sync)
        except BaseException:
            self.abort()
            raise
        state: list[BaseException | None] = []

        def durable() -> None:
            if not state:
                try:
                    landed()
                    state.append(None)
                except BaseException as exc:
                    state.append(exc)
                finally:
                    self.abort()
            if state[0] is not None:
                raise state[0]

        return StoredFile(key, self.sha256, self.size, content_type, display_name(original_name)), durable

    def _store(self, key: str, content_type: str) -> None:
        raise NotImplementedError

    def _store_started(self, key: str, content_type: str, sync: bool = True) -> Callable[[], None]:
        """Store the file under ``key``; what is returned waits until it is durable (a backend that
        stores durably at once returns a no-op; with ``sync=False`` nothing is waited for)."""
        self._store(key, content_type)
        return _stored

    def abort(self) -> None:
        """Forget what was written (the temporary file goes); calling it again does nothing."""
        if not self._done:
            self._done = True
            self.file.close()
            self._discard()

    def _discard(self) -> None:  # what a backend removes besides closing the file
        pass

    def __enter__(self) -> PendingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


def _stored() -> None:
    """Nothing left to wait for."""


def _new_key(sha256: str, content_type: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{uuid.uuid4().hex}{EXTENSIONS.get(content_type, '')}"


def _check_key(key: str) -> str:
    if not KEY_RE.fullmatch(key):
        raise ValueError(f"无效的文件标识：{key!r}")
    return key


def _limit(default: int, override: int | None) -> int:
    limit = default if override is None else override
    if limit <= 0:
        raise ValueError("文件大小上限必须大于 0")
    return limit


class LocalStorage(FileStorage):
    """Files under one directory on local disk; each write lands whole or not at all."""

    def __init__(self, root: Path, *, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.root = Path(root)
        self.max_size = max_size

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def begin(self, *, max_size: int | None = None) -> PendingFile:
        tmp_dir = self.root / ".tmp"  # on the same file system as the final path, so rename is atomic
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        return _LocalPending(self, os.fdopen(fd, "w+b"), Path(tmp_name), _limit(self.max_size, max_size))

    def open(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        path = self._path(key)
        with path.open("rb") as file:
            while chunk := file.read(chunk_size):
                yield chunk

    def iter_range(self, key: str, start: int, end: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        path = self._path(key)
        with path.open("rb") as file:
            file.seek(start)
            left = end - start + 1
            while left > 0 and (chunk := file.read(min(chunk_size, left))):
                left -= len(chunk)
                yield chunk

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def make_durable_started(self, sizes: Mapping[str, int]) -> tuple[list[str], Callable[[], None]]:
        """See ``FileStorage.make_durable``: each whole file is fsynced with the directories on its
        path (its own and those above it, which its commit may have made), all issued at once; their
        syncs started when they were stored, so little is left to wait for.

        "Whole" is judged by size: after a crash, ext4 (data=ordered, the default), XFS and btrfs never
        show a file longer than the bytes that reached the disk, so a file of the recorded size holds
        what was written; a shorter or missing one is reported lost. A file that saw no crash is whole
        in the page cache, and the fsync here writes out whatever of it is not on disk yet."""
        lost: list[str] = []
        files: list[Path] = []
        dirs: set[Path] = set()
        for key, size in sizes.items():
            path = self._path(key)
            try:
                whole = path.stat().st_size == size
            except FileNotFoundError:
                whole = False
            if not whole:
                lost.append(key)
                continue
            files.append(path)
            parent = path.parent
            while parent != self.root.parent and parent not in dirs:
                dirs.add(parent)
                parent = parent.parent
        return lost, sync_paths_started(files, dirs) if files else _stored


class _LocalPending(PendingFile):
    def __init__(self, storage: LocalStorage, file: IO[bytes], tmp: Path, limit: int) -> None:
        super().__init__(file, limit)
        self._storage = storage
        self._tmp = tmp
        self._kicked = 0  # bytes whose write-out has been started
        self._put = 0  # bytes written to the file

    def put(self, chunk: bytes) -> None:
        """As ``PendingFile.put``; besides, each MiB written is sent on to the disk at once (not
        waited for), so the fsync at the end finds little left to write (it took about half as long)."""
        self.file.write(chunk)
        self._put += len(chunk)
        if START_WRITEBACK is not None and self._put - self._kicked >= WRITEBACK_STEP:
            self.file.flush()
            START_WRITEBACK(self.file.fileno(), self._kicked, self._put - self._kicked, SYNC_FILE_RANGE_WRITE)
            self._kicked = self._put

    def _store_started(self, key: str, content_type: str, sync: bool = True) -> Callable[[], None]:
        # The key is nobody's until ``durable()`` returns, so the file may take its name before it is
        # synced: renamed first, then the fsyncs of the file, of its directory and of the parent of each
        # directory made for it (its entry there), all issued at once (``fsync_started``: they share one
        # journal commit instead of one device flush each), while the caller prepares its row. The
        # guarantee is unchanged: when the key is handed out, the bytes and the name are on disk. A crash
        # before that may leave a partial file under a key nobody was given (as it could leave the
        # temporary file): no record names it.
        final = self._storage._path(key)
        new_dirs = make_dirs(final.parent, self._storage.root)
        os.chmod(self._tmp, 0o640)
        os.replace(self._tmp, final)
        if not sync:  # started now, waited for by the caller's barrier (``make_durable``)
            sync_paths_soon([final], [final.parent, *(made.parent for made in new_dirs)])
            return _stored
        synced = fsync_started(self.file.fileno(), [final.parent, *(made.parent for made in new_dirs)])

        def landed() -> None:
            try:
                synced()
            except BaseException:
                final.unlink(missing_ok=True)
                raise

        return landed

    def _discard(self) -> None:
        self._tmp.unlink(missing_ok=True)


def make_storage(url: str, *, max_size: int = DEFAULT_MAX_SIZE) -> FileStorage:
    """The storage a URL names.

    - ``file:///abs/path`` or a plain path: local disk under that directory.
    - ``s3://bucket[/prefix]?endpoint=http://127.0.0.1:8333[&region=…][&access_key=…&secret_key=…]``:
      S3; credentials default to AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the region to AWS_REGION.
    """
    if not url:
        raise ValueError("未配置文件存储地址")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"本地文件存储地址必须是绝对路径：{url}")
        return LocalStorage(Path(unquote(parts.path)), max_size=max_size)
    if scheme == "s3":
        from services.common.s3_storage import S3Storage  # boto3 only when S3 is used

        if not parts.netloc:
            raise ValueError(f"S3 存储地址缺少存储桶名称：{url}")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        region = query.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
        return S3Storage(
            query.get("endpoint") or None,
            parts.netloc,
            query.get("access_key") or os.environ.get("AWS_ACCESS_KEY_ID") or None,
            query.get("secret_key") or os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
            region or "us-east-1",
            prefix=unquote(parts.path),
            max_size=max_size,
        )
    if scheme and len(scheme) > 1:  # one letter is a Windows drive, i.e. a plain path
        raise ValueError(f"不支持的文件存储地址：{url}")
    return LocalStorage(Path(url).resolve(), max_size=max_size)
