"""File storage: the same contract on local disk and on a real SeaweedFS S3 server."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from openpyxl import Workbook

from services.common.s3_storage import S3Storage
from services.common.storage import (
    DEFAULT_MAX_SIZE,
    DOCX,
    KEY_RE,
    MIB,
    OCTET_STREAM,
    XLSX,
    EmptyFile,
    FileStorage,
    FileTooLarge,
    LocalStorage,
    display_name,
    format_size,
    make_storage,
)
from tests.support.seaweed import SeaweedS3

BUCKET = "sortline-test"


# --- sample files, made here so each one is what its name says ---------------------------------------


def _png() -> bytes:
    return bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )


def _xlsx() -> bytes:
    book = Workbook()
    book.active["A1"] = "指标"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("照片/1.txt", "x")
    return out.getvalue()


SAMPLES = {
    "pdf": (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n", "application/pdf"),
    "png": (_png(), "image/png"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64 + b"\xff\xd9", "image/jpeg"),
    "gif": (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif"),
    "webp": (
        b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88",
        "image/webp",
    ),
    "zip": (_zip(), "application/zip"),
    "xlsx": (_xlsx(), XLSX),
    "docx": (_docx(), DOCX),
    "utf8": ("关于开展第三季度垃圾分类考核的通知\n各成员单位：\n".encode(), "text/plain"),
    "gb18030": ("关于开展第三季度垃圾分类考核的通知\r\n".encode("gb18030"), "text/plain"),
    "html": (b"<html><script>alert(1)</script></html>", "text/plain"),
    "binary": (bytes(range(256)) * 4, OCTET_STREAM),
}


class CountingStream(io.RawIOBase):
    """An endless upload that counts how much of it was read."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer):  # a writable buffer
        view = memoryview(buffer)
        n = len(view)
        view[:n] = b"\x00" * n
        self.read_bytes += n
        return n


# --- the storages under test ----------------------------------------------------------------------


def _s3(server: SeaweedS3, *, prefix: str = "", max_size: int = DEFAULT_MAX_SIZE) -> S3Storage:
    return S3Storage(
        server.endpoint_url,
        BUCKET,
        server.access_key,
        server.secret_key,
        server.region,
        prefix=prefix,
        max_size=max_size,
    )


@pytest.fixture(scope="session")
def s3_bucket(seaweed_s3: SeaweedS3) -> str:
    _s3(seaweed_s3).ensure_bucket()
    return BUCKET


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FileStorage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "files", max_size=2 * 1024 * 1024)
        return
    server: SeaweedS3 = request.getfixturevalue("seaweed_s3")
    request.getfixturevalue("s3_bucket")
    # A prefix per test keeps the tests apart in the one bucket.
    yield _s3(server, prefix=f"t-{uuid.uuid4().hex[:8]}", max_size=2 * 1024 * 1024)


def _objects(storage: FileStorage) -> list[str]:
    """Everything the storage holds, whatever the backend (to check nothing stray was written)."""
    if isinstance(storage, LocalStorage):
        if not storage.root.exists():
            return []
        return sorted(str(p.relative_to(storage.root)) for p in storage.root.rglob("*") if p.is_file())
    assert isinstance(storage, S3Storage)
    response = storage._client.list_objects_v2(Bucket=storage.bucket, Prefix=storage.prefix)
    return sorted(item["Key"][len(storage.prefix) :] for item in response.get("Contents", []))


# --- the contract ---------------------------------------------------------------------------------


def test_round_trip_keeps_bytes_hash_and_size(storage: FileStorage) -> None:
    data = "整改报告 第1页\n".encode() * 100
    stored = storage.put(data, original_name="整改报告.txt", content_type="text/plain")

    assert KEY_RE.fullmatch(stored.key)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert stored.content_type == "text/plain"
    assert stored.original_name == "整改报告.txt"
    assert storage.exists(stored.key)
    assert storage.open(stored.key) == data
    assert b"".join(storage.iter_chunks(stored.key, chunk_size=100)) == data
    assert _objects(storage) == [stored.key]

    storage.delete(stored.key)
    assert not storage.exists(stored.key)
    with pytest.raises(FileNotFoundError):
        storage.open(stored.key)
    with pytest.raises(FileNotFoundError):
        b"".join(storage.iter_chunks(stored.key))
    storage.delete(stored.key)  # deleting twice is not an error
    assert _objects(storage) == []


def test_stream_larger_than_one_chunk(storage: FileStorage) -> None:
    data = os.urandom(1024 * 1024 + 12345)
    stored = storage.put(io.BytesIO(data), original_name="photo.jpg", content_type="image/jpeg")

    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.content_type == OCTET_STREAM  # random bytes are not a JPEG, whatever the client says
    assert storage.open(stored.key) == data


def test_same_content_twice_gets_two_keys(storage: FileStorage) -> None:
    first = storage.put(b"%PDF-1.4 same", original_name="a.pdf")
    second = storage.put(b"%PDF-1.4 same", original_name="a.pdf")

    assert first.key != second.key
    assert first.sha256 == second.sha256
    assert first.key[:5] == first.sha256[:2] + "/" + first.sha256[2:4]
    storage.delete(first.key)
    assert storage.open(second.key) == b"%PDF-1.4 same"


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_type_is_sniffed_from_content(storage: FileStorage, kind: str) -> None:
    data, expected = SAMPLES[kind]
    # The client's name and type claim an image; only the bytes count.
    stored = storage.put(data, original_name=f"{kind}.png", content_type="image/png")

    assert stored.content_type == expected
    assert storage.open(stored.key) == data


def test_a_csv_claim_only_narrows_plain_text(storage: FileStorage) -> None:
    text = storage.put("单位,得分\n市城管局,98\n".encode(), original_name="得分.csv", content_type="text/csv")
    binary = storage.put(bytes(range(256)), original_name="x.csv", content_type="text/csv")

    assert text.content_type == "text/csv"
    assert text.key.endswith(".csv")
    assert binary.content_type == OCTET_STREAM


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system32\\evil.pdf", "evil.pdf"),
        ("/etc/shadow", "shadow"),
        ("..", "未命名文件"),
        ("", "未命名文件"),
        ("报告\u202eFDP.exe", "报告FDP.exe"),  # no right-to-left override to disguise the extension
        ("a\x00b\nc.pdf", "a b c.pdf"),
    ],
)
def test_names_never_become_paths(storage: FileStorage, tmp_path: Path, name: str, shown: str) -> None:
    stored = storage.put(b"%PDF-1.4 x", original_name=name)

    assert stored.original_name == shown
    assert KEY_RE.fullmatch(stored.key)
    assert ".." not in stored.key
    assert _objects(storage) == [stored.key]
    assert not (tmp_path / "etc").exists()
    if isinstance(storage, LocalStorage):
        assert (storage.root / stored.key).resolve().is_relative_to(storage.root.resolve())


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "/etc/passwd", "ab/cd/../../../x", "", "AB/CD/" + "0" * 32, "ab/cd/" + "0" * 32 + "/x"]
)
def test_keys_that_are_not_ours_are_refused(storage: FileStorage, key: str) -> None:
    with pytest.raises(ValueError, match="无效的文件标识"):
        storage.open(key)
    with pytest.raises(ValueError):
        storage.exists(key)
    with pytest.raises(ValueError):
        storage.delete(key)


def test_size_limit(storage: FileStorage) -> None:
    limit = 2 * 1024 * 1024
    assert storage.put(b"a" * limit, original_name="ok.txt").size == limit

    with pytest.raises(FileTooLarge, match="文件大小超过上限 2 MB") as caught:
        storage.put(b"a" * (limit + 1), original_name="big.txt")
    assert isinstance(caught.value, ValueError)
    assert caught.value.limit == limit
    assert len(_objects(storage)) == 1  # nothing of the refused upload is left


def test_size_limit_stops_reading_an_endless_upload(storage: FileStorage) -> None:
    stream = CountingStream()
    with pytest.raises(FileTooLarge, match="100 KB"):
        storage.put(io.BufferedReader(stream), original_name="endless.bin", max_size=100 * 1024)
    assert stream.read_bytes < 4 * 1024 * 1024
    assert _objects(storage) == []


def test_empty_file_is_refused(storage: FileStorage) -> None:
    with pytest.raises(EmptyFile, match="文件为空"):
        storage.put(b"", original_name="empty.pdf")
    assert _objects(storage) == []


# --- local disk only -------------------------------------------------------------------------------


def test_local_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    stored = storage.put(b"%PDF-1.4", original_name="a.pdf")
    with pytest.raises(FileTooLarge):
        storage.put(b"x" * 11, original_name="b.txt", max_size=10)

    assert list((tmp_path / ".tmp").iterdir()) == []
    assert (tmp_path / stored.key).read_bytes() == b"%PDF-1.4"
    assert stored.key.endswith(".pdf")


def test_local_write_is_on_disk_when_the_key_is_handed_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is synced under its final name, with its directory and every directory made for it
    (the new ``aa/`` and ``aa/bb/`` entries; issued together, all done before the key is returned), so a
    key never outlives a crash; and its bytes were sent on to the disk while it was written (each MiB),
    not all at the end."""
    import services.common.storage as storage_module

    synced: list[str] = []
    started: list[tuple[int, int]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(storage_module.os, "fsync", fsync)
    kicks = storage_module.START_WRITEBACK is not None  # Linux
    if kicks:
        monkeypatch.setattr(storage_module, "START_WRITEBACK", lambda fd, off, n, flags: started.append((off, n)))
    storage = LocalStorage(tmp_path)
    data = b"%PDF-1.4\n" + b"0" * (2 * MIB + 100)
    stored = storage.put(data, original_name="a.pdf")

    final = (tmp_path / stored.key).resolve()
    assert sorted(synced) == sorted([str(final), str(final.parent), str(final.parent.parent), str(tmp_path.resolve())])
    assert final.read_bytes() == data
    if kicks:
        assert started == [(0, MIB), (MIB, MIB)]
    # a second file in the same directories: the file and its directory only
    synced.clear()
    other = storage.put(b"%PDF-1.4 other", original_name="b.pdf")
    if other.key[:5] == stored.key[:5]:
        assert sorted(synced) == sorted([str((tmp_path / other.key).resolve()), str(final.parent)])


def _held_fsyncs(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, list[str]]:
    """Every fsync waits until the event is set; the paths synced, in the order they finished."""
    import services.common.storage as storage_module

    release = threading.Event()
    done: list[str] = []
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        release.wait(5)
        real_fsync(fd)
        done.append(os.readlink(f"/proc/self/fd/{fd}"))

    monkeypatch.setattr(storage_module.os, "fsync", slow_fsync)
    return release, done


def test_local_commit_started_returns_before_the_disk_and_durable_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``commit_started`` hands back the key while the fsyncs run (a row can be prepared meanwhile);
    ``durable()`` returns only once every one of them is done, and again at once when called again.
    A failed fsync makes ``durable()`` raise and the file go: no key to bytes the disk did not keep."""
    release, done = _held_fsyncs(monkeypatch)
    storage = LocalStorage(tmp_path)
    pending = storage.begin()
    pending.write(b"%PDF-1.4 started")
    stored, durable = pending.commit_started(content_type="application/pdf", original_name="a.pdf")
    assert done == []  # back before any fsync has finished
    assert (tmp_path / stored.key).read_bytes() == b"%PDF-1.4 started"  # in place under its key
    release.set()
    durable()
    assert str((tmp_path / stored.key).resolve()) in done and len(done) == 4  # file, its dir, two made
    durable()  # again: nothing more to wait for

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    pending = storage.begin()
    pending.write(b"%PDF-1.4 lost")
    lost, durable = pending.commit_started(content_type="application/pdf", original_name="b.pdf")
    with pytest.raises(OSError):
        durable()
    with pytest.raises(OSError):
        durable()  # the same answer again
    assert not (tmp_path / lost.key).exists()


# --- S3 only ---------------------------------------------------------------------------------------


@pytest.mark.s3
def test_ensure_bucket_creates_once(seaweed_s3: SeaweedS3) -> None:
    storage = S3Storage(
        seaweed_s3.endpoint_url, f"sl-{uuid.uuid4().hex[:12]}", seaweed_s3.access_key, seaweed_s3.secret_key
    )
    storage.ensure_bucket()
    storage.ensure_bucket()  # a second call finds it and does nothing
    stored = storage.put(b"GIF89a....", original_name="a.gif")
    assert storage.open(stored.key) == b"GIF89a...."


@pytest.mark.s3
def test_wrong_secret_is_refused(seaweed_s3: SeaweedS3, s3_bucket: str) -> None:
    storage = S3Storage(seaweed_s3.endpoint_url, s3_bucket, seaweed_s3.access_key, "not-the-secret")
    with pytest.raises(ClientError):
        storage.put(b"%PDF-1.4", original_name="a.pdf")


@pytest.mark.s3
def test_make_storage_reaches_the_server(
    seaweed_s3: SeaweedS3, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed_s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed_s3.secret_key)
    storage = make_storage(f"s3://{s3_bucket}/evidence?endpoint={seaweed_s3.endpoint_url}")
    stored = storage.put(b"%PDF-1.4 via url", original_name="a.pdf")
    assert storage.open(stored.key) == b"%PDF-1.4 via url"


# --- the factory and helpers -----------------------------------------------------------------------


def test_make_storage_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    by_url = make_storage(f"file://{tmp_path}/files", max_size=123)
    assert isinstance(by_url, LocalStorage)
    assert by_url.root == tmp_path / "files"
    assert by_url.max_size == 123

    monkeypatch.chdir(tmp_path)
    by_path = make_storage("var/files")
    assert isinstance(by_path, LocalStorage)
    assert by_path.root == tmp_path.resolve() / "var" / "files"


def test_make_storage_s3_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "env-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)

    from_env = make_storage("s3://evidence?endpoint=http://127.0.0.1:8333")
    assert isinstance(from_env, S3Storage)
    assert (from_env.bucket, from_env.endpoint_url, from_env.region, from_env.prefix) == (
        "evidence",
        "http://127.0.0.1:8333",
        "us-east-1",
        "",
    )
    assert from_env._client._request_signer._credentials.access_key == "env-key"

    from_query = make_storage("s3://evidence/photos?endpoint=http://s3:9000&access_key=q&secret_key=s&region=cn-1")
    assert isinstance(from_query, S3Storage)
    assert (from_query.prefix, from_query.region) == ("photos/", "cn-1")
    assert from_query._client._request_signer._credentials.access_key == "q"


@pytest.mark.parametrize("url", ["", "ftp://host/x", "s3://", "file://otherhost/x"])
def test_make_storage_refuses(url: str) -> None:
    with pytest.raises(ValueError):
        make_storage(url)


def test_display_name_keeps_long_names_readable() -> None:
    shown = display_name("很长" * 200 + ".docx")
    assert len(shown) == 200
    assert shown.endswith(".docx")


@pytest.mark.parametrize(
    ("size", "text"),
    [(50 * 1024 * 1024, "50 MB"), (1536 * 1024, "1.5 MB"), (100 * 1024, "100 KB"), (10, "10 字节")],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


def test_make_durable_reports_the_files_not_there_whole(storage: FileStorage) -> None:
    """The barrier of files stored with ``sync=False``: the keys of those missing or of another size
    than recorded (lost in a crash), none of those there whole; on every backend."""
    kept = []
    for body in (b"%PDF-1.4 one", b"%PDF-1.4 two", b"%PDF-1.4 three"):
        pending = storage.begin()
        pending.write(body)
        stored, durable = pending.commit_started(content_type="application/pdf", original_name="a.pdf", sync=False)
        durable()
        kept.append(stored)
    one, two, three = kept
    assert storage.make_durable({f.key: f.size for f in kept}) == []
    storage.delete(two.key)
    assert storage.make_durable({one.key: one.size, two.key: two.size, three.key: three.size + 1}) == [
        two.key,
        three.key,
    ]
    assert storage.open(one.key) == b"%PDF-1.4 one"


def test_local_sync_false_answers_before_the_disk_and_the_barrier_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``commit_started(sync=False)``: the file is in place under its key and its fsync started, nothing
    waited for; ``make_durable`` syncs it again with every directory on its path (its own, the two its
    commit made, the root), all at once, and returns only when they are done."""
    release, done = _held_fsyncs(monkeypatch)
    storage = LocalStorage(tmp_path)
    pending = storage.begin()
    pending.write(b"%PDF-1.4 later")
    stored, durable = pending.commit_started(content_type="application/pdf", original_name="a.pdf", sync=False)
    durable()  # waits for nothing
    final = (tmp_path / stored.key).resolve()
    assert done == [] and final.read_bytes() == b"%PDF-1.4 later"
    lost: list[list[str]] = []
    barrier = threading.Thread(target=lambda: lost.append(storage.make_durable({stored.key: stored.size})))
    barrier.start()
    barrier.join(0.2)
    assert barrier.is_alive()  # waiting for the disk
    release.set()
    barrier.join(5)
    assert lost == [[]]
    expected = {str(final), str(final.parent), str(final.parent.parent), str(tmp_path.resolve())}
    assert expected <= set(done)  # the barrier's own syncs all done when it returned
    for _ in range(100):  # and the ones started when it was stored, finishing about then
        if len(done) == 8:
            break
        threading.Event().wait(0.05)
    assert sorted(done) == sorted([*expected, *expected])  # each synced when stored and by the barrier
