"""Uploads: multipart and raw bodies streamed into the storage, typed by content, bounded while streaming."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request

from services.common.errors import install_error_handlers
from services.common.sinks import new_sink
from services.common.sniffing import PHOTO_TYPES, possible_types, sniff_type
from services.common.storage import KEY_RE, MIB, FileStorage, LocalStorage, PendingFile
from services.common.uploads import DOCUMENT_TYPES, receive_body, receive_upload
from tests.support.file_samples import REFUSED, SAMPLES, make_storage_fixture, objects, ole

BOUNDARY = "----sortline7MA4YWxkTrZu0gW"
GB = 1024 * MIB


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FileStorage]:
    yield from make_storage_fixture(request, tmp_path, max_size=2 * MIB)


@pytest.fixture(autouse=True, params=["queue", "batch"])
def sink_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs with each way of writing a file: ``_QueueSink`` (the only body arriving:
    hashed on the loop, one writer thread) and ``_BatchSink`` (others arriving too: batches hashed and
    written in the thread pool); ``new_sink`` picks by how many bodies arrive, which tests do not vary."""
    from services.common import sinks, uploads

    kind = {"queue": sinks._QueueSink, "batch": sinks._BatchSink}[request.param]
    monkeypatch.setattr(uploads, "new_sink", lambda storage, **kw: kind(storage, **kw))
    return str(request.param)


def make_app(storage: FileStorage, **options) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/upload")
    async def upload(request: Request) -> dict:
        form = await receive_upload(request, storage, **options)
        return {
            "files": [asdict(f) for f in form.files],
            "fields": form.fields,
            "tags": form.getlist("tag"),
            "by_field": {name: [f.key for f in files] for name, files in form.by_field.items()},
        }

    @app.put("/photo")
    async def photo(request: Request) -> dict:
        stored = await receive_body(
            request, storage, max_size=options.get("max_size"), accept=PHOTO_TYPES, original_name="现场照片.heic"
        )
        return asdict(stored)

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def part(name: str, content: bytes, filename: str | None = None, content_type: str = "application/pdf") -> bytes:
    disposition = f'form-data; name="{name}"'
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}"
    if filename is not None:
        head += f'; filename="{filename}"\r\nContent-Type: {content_type}'
    return head.encode() + b"\r\n\r\n" + content + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


HEADERS = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


async def post(app: FastAPI, content, headers: dict | None = None) -> httpx.Response:
    async with client(app) as c:
        return await c.post("/upload", content=content, headers=headers or HEADERS)


class Endless:
    """A multipart body whose one file part would be ``total`` bytes; counts what the server pulled."""

    def __init__(self, total: int, first: bytes = b"%PDF-1.7\n", chunk: int = 256 * 1024) -> None:
        self.total, self.first, self.chunk = total, first, chunk
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield part("files", b"", "大文件.pdf")[:-2]  # headers only: the content follows
        self.sent += len(self.first)
        yield self.first
        block = b"\x00" * self.chunk
        while self.sent < self.total:
            self.sent += len(block)
            yield block
        yield b"\r\n" + f"--{BOUNDARY}--\r\n".encode()


# --- the type is told by the content ---------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(SAMPLES))
async def test_each_accepted_kind_is_stored_with_its_sniffed_type(storage: FileStorage, kind: str) -> None:
    data, expected = SAMPLES[kind]
    # The name and the client's type claim something else: only the bytes count.
    response = await post(make_app(storage), body(part("files", data, f"证据-{kind}.exe", "text/html")))

    assert response.status_code == 200, response.text
    (stored,) = response.json()["files"]
    assert stored["content_type"] == expected
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored["size"] == len(data)
    assert stored["original_name"] == f"证据-{kind}.exe"
    assert KEY_RE.fullmatch(stored["key"])
    assert storage.open(stored["key"]) == data
    assert objects(storage) == [stored["key"]]


@pytest.mark.parametrize("kind", sorted(REFUSED))
async def test_other_content_is_refused_whatever_the_name(storage: FileStorage, kind: str) -> None:
    response = await post(make_app(storage), body(part("files", REFUSED[kind], "整改报告.pdf")))

    assert response.status_code == 422
    error = response.json()
    assert error["error"] == "validation_error"
    assert error["details"][0]["field"] == "files"
    assert "「整改报告.pdf」的文件类型不支持" in error["details"][0]["message"]
    assert "仅接受 PDF、Word、Excel、PowerPoint、OFD、JPEG、PNG、HEIC、MP4" in error["message"]
    assert objects(storage) == []


async def test_accept_narrows_the_kinds(storage: FileStorage) -> None:
    app = make_app(storage, accept=DOCUMENT_TYPES)
    response = await post(app, body(part("files", SAMPLES["jpeg"][0], "照片.jpg")))

    assert response.status_code == 422
    assert "仅接受 PDF、Word、Excel、PowerPoint、OFD 文件" in response.json()["details"][0]["message"]
    assert objects(storage) == []


# --- a form: files and text fields -----------------------------------------------------------------


async def test_files_and_fields_of_one_form(storage: FileStorage) -> None:
    pdf, png = SAMPLES["pdf"][0], SAMPLES["png"][0]
    content = body(
        part("note", "第三季度整改材料".encode()),
        part("files", pdf, "整改报告.pdf"),
        part("tag", "厨余".encode()),
        part("photos", png, "现场.png", "image/png"),
        part("tag", "其他".encode()),
        part("files", b"", ""),  # a file input left empty
    )
    response = await post(make_app(storage), content)

    assert response.status_code == 200, response.text
    result = response.json()
    assert [f["original_name"] for f in result["files"]] == ["整改报告.pdf", "现场.png"]
    assert result["fields"] == {"note": "第三季度整改材料", "tag": "其他"}
    assert result["tags"] == ["厨余", "其他"]
    assert result["by_field"] == {"files": [result["files"][0]["key"]], "photos": [result["files"][1]["key"]]}
    assert sorted(objects(storage)) == sorted(f["key"] for f in result["files"])


async def test_a_refused_file_takes_the_files_before_it_along(storage: FileStorage) -> None:
    content = body(
        part("files", SAMPLES["pdf"][0], "一.pdf"),
        part("files", SAMPLES["docx"][0], "二.docx"),
        part("files", REFUSED["exe"], "三.pdf"),
    )
    response = await post(make_app(storage), content)

    assert response.status_code == 422
    assert "「三.pdf」" in response.json()["message"]
    assert objects(storage) == []  # the two stored before it were deleted, no temporary file is left


async def test_too_many_files(storage: FileStorage) -> None:
    pdf = SAMPLES["pdf"][0]
    response = await post(make_app(storage, max_files=2), body(*(part("files", pdf, f"{i}.pdf") for i in range(3))))

    assert response.status_code == 422
    assert response.json()["details"][0] == {"field": "files", "message": "一次最多上传 2 个文件"}
    assert objects(storage) == []


async def test_no_file_chosen(storage: FileStorage) -> None:
    response = await post(make_app(storage), body(part("note", b"x"), part("files", b"", "")))
    assert response.status_code == 422
    assert response.json()["details"][0]["message"] == "请选择要上传的文件"

    response = await post(make_app(storage, min_files=0), body(part("note", b"x")))
    assert response.status_code == 200
    assert response.json()["fields"] == {"note": "x"}


async def test_empty_file_is_refused(storage: FileStorage) -> None:
    response = await post(make_app(storage), body(part("files", b"", "空.pdf")))
    assert response.status_code == 422
    assert response.json()["details"][0]["message"] == "「空.pdf」是空文件，请重新选择"


async def test_names_are_cleaned_and_never_paths(storage: FileStorage) -> None:
    name = "../../etc/整改\u202e报告.pdf"
    response = await post(make_app(storage), body(part("files", SAMPLES["pdf"][0], name)))

    stored = response.json()["files"][0]
    assert stored["original_name"] == "整改报告.pdf"
    assert KEY_RE.fullmatch(stored["key"]) and stored["key"].endswith(".pdf")
    if isinstance(storage, LocalStorage):
        assert all(p.is_relative_to(storage.root) for p in storage.root.rglob("*"))


async def test_not_multipart(storage: FileStorage) -> None:
    response = await post(make_app(storage), b"{}", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["details"][0] == {"field": "files", "message": "请以 multipart/form-data 表单上传文件"}


async def test_truncated_body_leaves_nothing(storage: FileStorage) -> None:
    content = part("files", SAMPLES["pdf"][0] * 100, "一.pdf")[:-200]  # cut inside the file, no end boundary
    response = await post(make_app(storage), content)

    assert response.status_code == 422
    assert "上传内容不完整" in response.json()["message"]
    assert objects(storage) == []


async def test_text_field_is_bounded(storage: FileStorage) -> None:
    response = await post(make_app(storage, max_field_size=1000), body(part("note", b"x" * 1001)))
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "note"


# --- limits while streaming ------------------------------------------------------------------------


async def test_file_over_the_limit_is_refused(storage: FileStorage) -> None:
    data = b"%PDF-1.7\n" + b"\x00" * (MIB - 9 + 1)  # one byte over 1 MB
    response = await post(make_app(storage, max_size=MIB), body(part("files", data, "扫描件.pdf")))

    assert response.status_code == 422
    assert response.json()["details"][0] == {"field": "files", "message": "「扫描件.pdf」超过大小上限 1 MB"}
    assert objects(storage) == []

    exact = b"%PDF-1.7\n" + b"\x00" * (MIB - 9)
    response = await post(make_app(storage, max_size=MIB), body(part("files", exact, "扫描件.pdf")))
    assert response.status_code == 200
    assert response.json()["files"][0]["size"] == MIB


async def test_a_2_gb_body_is_refused_at_the_limit_not_after_it(storage: FileStorage) -> None:
    endless = Endless(2 * GB)
    response = await post(make_app(storage, max_size=MIB, max_files=1), endless)

    assert response.status_code == 422
    assert "超过大小上限 1 MB" in response.json()["message"]
    assert endless.sent < 2 * MIB  # stopped right after the limit, not at 2 GB
    assert objects(storage) == []


async def test_wrong_content_is_refused_after_its_first_kilobyte(storage: FileStorage) -> None:
    endless = Endless(2 * GB, first=b"MZ\x90\x00")  # an executable, called 大文件.pdf
    response = await post(make_app(storage, max_size=4 * GB), endless)

    assert response.status_code == 422
    assert "文件类型不支持" in response.json()["message"]
    assert endless.sent <= 512 * 1024
    assert objects(storage) == []


async def test_declared_length_over_the_bound_is_refused_before_reading(storage: FileStorage) -> None:
    endless = Endless(2 * GB)
    headers = {**HEADERS, "content-length": str(2 * GB)}
    response = await post(make_app(storage, max_size=MIB, max_files=2), endless, headers=headers)

    assert response.status_code == 422
    assert endless.sent == 0


async def test_client_gone_mid_file_leaves_nothing(storage: FileStorage) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield part("files", SAMPLES["pdf"][0], "一.pdf")
        yield part("files", b"", "二.pdf")[:-2]
        yield b"%PDF-1.7\n" + b"\x00" * (3 * MIB // 2)  # more than one write batch reaches the storage
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await post(make_app(storage, max_size=2 * MIB), broken())
    assert objects(storage) == []


# --- raw body (PUT of one photo) -------------------------------------------------------------------


async def test_raw_body_photo(storage: FileStorage) -> None:
    data = SAMPLES["heic"][0]
    async with client(make_app(storage)) as c:
        response = await c.put("/photo", content=data, headers={"content-type": "image/jpeg"})

    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["content_type"] == "image/heic"
    assert stored["original_name"] == "现场照片.heic"
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert storage.open(stored["key"]) == data


async def test_raw_body_refusals(storage: FileStorage) -> None:
    async with client(make_app(storage, max_size=MIB)) as c:
        wrong = await c.put("/photo", content=SAMPLES["pdf"][0])
        big = await c.put("/photo", content=b"\xff\xd8\xff\xe0" + b"\x00" * MIB)
        declared = await c.put("/photo", content=b"\xff\xd8\xff", headers={"content-length": str(2 * MIB)})

    assert wrong.status_code == 422
    assert wrong.json()["details"][0]["field"] == "file"
    assert "仅接受 JPEG、PNG、HEIC 文件" in wrong.json()["message"]
    assert big.status_code == declared.status_code == 422
    assert "超过大小上限 1 MB" in big.json()["message"]
    assert objects(storage) == []


async def test_the_pieces_still_queued_are_written_before_the_commit(storage: FileStorage) -> None:
    """The writer thread writes every piece still queued behind the disk before it stores the file:
    the stored file is every byte, in order, with the hash of the whole."""

    async def pieces() -> AsyncIterator[bytes]:
        yield b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4096  # over 1 MiB
        yield b"tail" * 1000

    data = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4096 + b"tail" * 1000
    async with client(make_app(storage, max_size=2 * MIB)) as c:
        response = await c.put("/photo", content=pieces())

    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["sha256"] == hashlib.sha256(data).hexdigest() and stored["size"] == len(data)
    assert storage.open(stored["key"]) == data


def pending_class(storage: FileStorage) -> type[PendingFile]:
    with storage.begin() as pending:
        return type(pending)


async def test_the_loop_waits_when_the_disk_falls_behind(storage: FileStorage, monkeypatch, sink_kind) -> None:
    """A disk slower than the client (``_QueueSink``): the loop stops taking the body while more than
    QUEUE_LIMIT is queued behind the writer (memory per upload stays bounded), and goes on as the
    writer catches up."""
    import time

    from services.common import sinks

    if sink_kind != "queue":
        pytest.skip("the queue's limit; a batch sink holds at most one batch in flight and one gathering")
    monkeypatch.setattr(sinks, "QUEUE_LIMIT", 256 * 1024)
    queued: list[int] = []
    real_put = PendingFile.put
    real_feed = sinks._QueueSink.feed

    def slow_put(self, chunk: bytes) -> None:
        time.sleep(0.01)
        real_put(self, chunk)

    async def feed(self, data: bytes) -> None:
        await real_feed(self, data)
        queued.append(self._sent - self._written)

    monkeypatch.setattr(pending_class(storage), "put", slow_put)
    monkeypatch.setattr(sinks._QueueSink, "feed", feed)
    piece = 64 * 1024
    data = b"\xff\xd8\xff\xe0" + bytes(range(256)) * (6 * 1024)

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(data), piece):
            yield data[i : i + piece]

    async with client(make_app(storage, max_size=2 * MIB)) as c:
        response = await c.put("/photo", content=pieces())

    assert response.status_code == 200, response.text
    assert storage.open(response.json()["key"]) == data
    assert max(queued) <= 256 * 1024  # after each piece the loop had waited for room
    assert max(queued) > 0  # the writer did fall behind


async def test_a_disk_error_in_the_writer_leaves_nothing(storage: FileStorage, monkeypatch) -> None:
    """The writer thread fails mid-body (a full disk): the request fails, the partial file is gone, and
    nothing under a key remains."""
    real_put = PendingFile.put
    calls = [0]

    def failing_put(self, chunk: bytes) -> None:
        calls[0] += 1
        if calls[0] == 2:
            raise OSError(28, "No space left on device")
        real_put(self, chunk)

    monkeypatch.setattr(pending_class(storage), "put", failing_put)

    async def pieces() -> AsyncIterator[bytes]:
        yield b"\xff\xd8\xff\xe0" + b"\x00" * (256 * 1024)
        for _ in range(8):
            await asyncio.sleep(0.01)  # the writer takes each piece on its own
            yield b"\x00" * (128 * 1024)

    async with client(make_app(storage, max_size=2 * MIB)) as c:
        with pytest.raises(OSError):
            await c.put("/photo", content=pieces())
    assert objects(storage) == []


async def test_raw_body_then_runs_in_the_storing_thread(storage: FileStorage) -> None:
    """``then(stored, durable)`` (the row naming the file) runs right after the commit in the same worker
    thread: one thread hop per photo; if it raises, the file it was given is deleted again."""
    import threading

    data = SAMPLES["png"][0]
    seen: list[tuple[str, str]] = []
    commits: list[str] = []
    original_commit = PendingFile.commit_started

    def commit(self, **kw):
        commits.append(threading.current_thread().name)
        return original_commit(self, **kw)

    def keep(stored, durable):
        seen.append((threading.current_thread().name, stored.key))
        durable()
        return {"row": stored.sha256}

    def refuse(stored, durable):
        seen.append((threading.current_thread().name, stored.key))
        raise ValueError("no row")

    app = FastAPI()

    @app.put("/keep")
    async def put_keep(request: Request) -> dict:
        return await receive_body(request, storage, then=keep)

    @app.put("/refuse")
    async def put_refuse(request: Request) -> dict:
        try:
            await receive_body(request, storage, then=refuse)
        except ValueError:
            return {"refused": True}
        return {"refused": False}

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(PendingFile, "commit_started", commit)
        async with client(app) as c:
            kept = await c.put("/keep", content=data)
            refused = await c.put("/refuse", content=data)

    assert kept.json() == {"row": hashlib.sha256(data).hexdigest()}
    assert refused.json() == {"refused": True}
    assert [name for name, _ in seen] == commits  # the same worker thread as the commit, each time
    assert commits[0] != threading.current_thread().name
    assert objects(storage) == [seen[0][1]]  # the refused one's file is gone


async def test_then_runs_while_the_disk_syncs_and_durable_waits_for_it(tmp_path: Path, monkeypatch) -> None:
    """``then(stored, durable)`` starts before the file's fsync has returned (the row is prepared
    meanwhile); ``durable()`` returns only after it, so a row committed after ``durable()`` never names
    bytes the disk does not have."""
    import threading
    import time

    import services.common.storage as storage_module

    storage = LocalStorage(tmp_path)
    events: list[str] = []
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        time.sleep(0.05)
        real_fsync(fd)
        events.append("synced")

    monkeypatch.setattr(storage_module.os, "fsync", slow_fsync)

    def keep(stored, durable):
        events.append("then")
        durable()
        events.append("durable")
        return threading.current_thread().name

    app = FastAPI()

    @app.put("/keep")
    async def put_keep(request: Request) -> dict:
        return {"thread": await receive_body(request, storage, then=keep)}

    async with client(app) as c:
        response = await c.put("/keep", content=SAMPLES["png"][0])

    assert response.status_code == 200, response.text
    assert events[0] == "then" and events[-1] == "durable"
    assert events.count("synced") >= 2  # the file and its directory (and any directory made for it)
    assert events.index("durable") > max(i for i, e in enumerate(events) if e == "synced")


async def test_sync_false_answers_before_the_disk(tmp_path: Path, monkeypatch) -> None:
    """``receive_body(sync=False)``: ``then`` runs and the answer goes while the file's fsync is still
    under way (the caller's barrier, ``make_durable``, waits for it later); the bytes are in place."""
    import threading

    import services.common.storage as storage_module

    storage = LocalStorage(tmp_path)
    release = threading.Event()
    real_fsync = os.fsync

    def blocked_fsync(fd: int) -> None:
        release.wait(5)
        real_fsync(fd)

    monkeypatch.setattr(storage_module.os, "fsync", blocked_fsync)

    def keep(stored, durable):
        durable()  # waits for nothing
        return stored.key

    app = FastAPI()

    @app.put("/later")
    async def put_later(request: Request) -> dict:
        return {"key": await receive_body(request, storage, then=keep, sync=False)}

    try:
        async with client(app) as c:
            response = await c.put("/later", content=SAMPLES["png"][0])
        assert response.status_code == 200, response.text
        assert not release.is_set()  # answered with the fsync still blocked
        assert (tmp_path / response.json()["key"]).read_bytes() == SAMPLES["png"][0]
    finally:
        release.set()


async def test_the_way_of_writing_follows_how_many_bodies_arrive(tmp_path: Path, sink_kind: str) -> None:
    """``new_sink`` (the real one, imported before the fixture replaces it): the queue kind for the only
    body arriving, the batch kind while another one arrives; a file stops counting once its body has
    ended or it was given up."""
    from services.common import sinks

    if sink_kind != "queue":
        pytest.skip("one run is enough")
    storage = LocalStorage(tmp_path)

    def sink() -> sinks._Sink:
        return new_sink(storage, field="file", name="a.jpg", limit=MIB, accept=PHOTO_TYPES)

    first = sink()
    second = sink()
    assert isinstance(first, sinks._QueueSink) and isinstance(second, sinks._BatchSink)
    await second.feed(SAMPLES["png"][0])
    await second.finish()
    await second.aclose()
    await first.aclose()
    await first.aclose()  # again: counted once
    assert sinks._State.receiving == 0
    third = sink()
    assert isinstance(third, sinks._QueueSink) and sinks._State.receiving == 1
    await third.aclose()  # its writer thread ends (a sink is always closed: ``finally`` in the kernel)
    assert sinks._State.receiving == 0


# --- sniffing itself -------------------------------------------------------------------------------


def test_sniffing_needs_the_file_for_zip_and_ole() -> None:
    import io

    for kind in ("docx", "xlsx", "pptx", "ofd", "doc", "xls", "ppt"):
        data, expected = SAMPLES[kind]
        assert sniff_type(data[:1024]) is None
        assert sniff_type(data[:1024], io.BytesIO(data)) == expected
        assert expected in possible_types(data[:1024])
    assert possible_types(REFUSED["exe"][:1024]) == frozenset()
    assert possible_types(b"junk" * 256) == frozenset()
    # A PDF header may sit a little after the start; not after the first kilobyte.
    assert sniff_type(b"\r\n%PDF-1.4") == "application/pdf"
    assert sniff_type(b"\x00" * 1100 + b"%PDF-1.4") is None


def test_ole_reader_survives_broken_files() -> None:
    import io

    data = ole("WordDocument")
    assert sniff_type(data, io.BytesIO(data[:700])) is None  # directory cut off
    looped = bytearray(data)
    looped[512 + 4 : 512 + 8] = (1).to_bytes(4, "little")  # the directory chain points back at itself
    assert sniff_type(bytes(looped), io.BytesIO(bytes(looped))) is None  # stops; the stream sat in sector 2


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    box = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(box) - 4).to_bytes(4, "big") + box + b"\x00" * 64


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (_ftyp(b"heic", b"mif1", b"heic"), "image/heic"),  # iPhone
        (_ftyp(b"mif1", b"heic"), "image/heif"),
        (_ftyp(b"msf1", b"iso8"), "image/heif"),
        (_ftyp(b"mp42", b"isom"), "video/mp4"),
        (_ftyp(b"XAVC", b"mp42"), "video/mp4"),  # an unknown major brand, a known compatible one
        (_ftyp(b"qt  ", b"qt  "), "video/quicktime"),
        (_ftyp(b"avif", b"mif1", b"miaf"), None),  # AVIF is not accepted, though it lists mif1
        (_ftyp(b"3gp4", b"3gp4"), None),
    ],
)
def test_ftyp_brands(head: bytes, expected: str | None) -> None:
    assert sniff_type(head) == expected


async def test_memory_stays_flat_while_a_large_file_streams_in(tmp_path: Path) -> None:
    """64 MB through the whole path (parser, sink, local storage) with at most a few MB allocated at once."""
    import tracemalloc

    storage = LocalStorage(tmp_path / "files", max_size=128 * MIB)
    total = 64 * MIB
    endless = Endless(total, chunk=64 * 1024)
    tracemalloc.start()
    try:
        response = await post(make_app(storage, max_files=1), endless)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 200, response.text
    assert response.json()["files"][0]["size"] >= total
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"


async def test_rfc_5987_file_name(storage: FileStorage) -> None:
    """Some OA clients name the file only with ``filename*``; it is still a file, with its Chinese name."""
    head = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename*=UTF-8''"
        "%E6%95%B4%E6%94%B9%E6%8A%A5%E5%91%8A.pdf\r\n\r\n"
    ).encode()
    gbk = f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename*=GBK''%D5%FB%B8%C4.pdf\r\n\r\n"
    content = (
        head + SAMPLES["pdf"][0] + b"\r\n" + gbk.encode() + SAMPLES["pdf"][0] + b"\r\n" + f"--{BOUNDARY}--\r\n".encode()
    )
    response = await post(make_app(storage), content)

    assert response.status_code == 200, response.text
    assert [f["original_name"] for f in response.json()["files"]] == ["整改报告.pdf", "整改.pdf"]
