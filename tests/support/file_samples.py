"""Sample files for the upload and download tests, each made to be what its name says, and the storages."""

from __future__ import annotations

import io
import struct
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook

from services.common.s3_storage import S3Storage
from services.common.storage import DEFAULT_MAX_SIZE, FileStorage, LocalStorage
from tests.support.seaweed import SeaweedS3

BUCKET = "sortline-test"


def png() -> bytes:
    return bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def heic() -> bytes:
    """A real HEIC photo (what an iPhone sends), encoded by pillow-heif."""
    import pillow_heif
    from PIL import Image

    out = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (16, 16), (20, 120, 40))).save(out, format="HEIF")
    return out.getvalue()


def mp4() -> bytes:
    """An ISO base media file: ftyp (isom) and an empty mdat, as the start of any MP4."""
    ftyp = b"ftypisom" + struct.pack(">I", 512) + b"isomiso2avc1mp41"
    return struct.pack(">I", 8 + len(ftyp)) + ftyp + struct.pack(">I", 16) + b"mdat" + b"\x00" * 8


def pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def xlsx() -> bytes:
    book = Workbook()
    book.active["A1"] = "指标"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def ooxml(folder: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}/document.xml", "<x/>")
    return out.getvalue()


def ofd() -> bytes:
    """An OFD package (GB/T 33190): a zip with OFD.xml at its root and the document under Doc_0/."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("OFD.xml", '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0"/>')
        archive.writestr("Doc_0/Document.xml", "<ofd:Document/>")
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("照片/1.txt", "x")
    return out.getvalue()


def ole(stream: str, *, extra_entries: int = 6) -> bytes:
    """A compound file (MS-CFB v3, 512-byte sectors) whose directory holds ``stream`` after other entries.

    The directory takes two sectors chained in the FAT, so the reader must follow the chain to find it.
    """
    end, free, fatsect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    names = ["Root Entry"] + [f"\x05Other{i}" for i in range(extra_entries)] + [stream]
    entries = b""
    for i, name in enumerate(names):
        raw = name.encode("utf-16-le") + b"\x00\x00"
        entry = raw.ljust(64, b"\x00") + struct.pack("<HBB", len(raw), 5 if i == 0 else 2, 1)
        entry += struct.pack("<III", free, free, free) + b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16
        entry += struct.pack("<IQ", end, 0)
        entries += entry.ljust(128, b"\x00")
    dir_sectors = (len(entries) + 511) // 512
    entries = entries.ljust(dir_sectors * 512, b"\x00")
    # sector 0: FAT; sectors 1..n: directory
    fat = [fatsect] + [i + 2 for i in range(dir_sectors - 1)] + [end]
    fat_sector = struct.pack(f"<{len(fat)}I", *fat).ljust(512, b"\xff")
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
    header += struct.pack("<IIII", 0, 1, 1, 0)  # dir sectors (0 in v3), FAT sectors, first dir sector, txn
    header += struct.pack("<IIIII", 4096, end, 0, end, 0)  # mini cutoff, mini FAT, DIFAT start/count
    header += struct.pack("<109I", 0, *([free] * 108))
    assert len(header) == 512
    return header + fat_sector + entries


# name -> (bytes, the MIME type the content shows)
SAMPLES: dict[str, tuple[bytes, str]] = {
    "pdf": (pdf(), "application/pdf"),
    "png": (png(), "image/png"),
    "jpeg": (jpeg(), "image/jpeg"),
    "heic": (heic(), "image/heic"),
    "mp4": (mp4(), "video/mp4"),
    "xlsx": (xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "docx": (ooxml("word"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "pptx": (ooxml("ppt"), "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "ofd": (ofd(), "application/ofd"),
    "doc": (ole("WordDocument"), "application/msword"),
    "xls": (ole("Workbook"), "application/vnd.ms-excel"),
    "ppt": (ole("PowerPoint Document"), "application/vnd.ms-powerpoint"),
}

# Content that is none of the accepted kinds, whatever its name says.
REFUSED: dict[str, bytes] = {
    "exe": b"MZ\x90\x00\x03" + b"\x00" * 2000,
    "html": b"<html><script>alert(1)</script></html>",
    "zip": plain_zip(),
    "ole-unknown": ole("SummaryInformation"),
    "gif": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    "text": "关于开展第三季度垃圾分类考核的通知".encode(),
}


def s3_storage(server: SeaweedS3, *, prefix: str = "", max_size: int = DEFAULT_MAX_SIZE) -> S3Storage:
    return S3Storage(
        server.endpoint_url,
        BUCKET,
        server.access_key,
        server.secret_key,
        server.region,
        prefix=prefix,
        max_size=max_size,
    )


def make_storage_fixture(request: pytest.FixtureRequest, tmp_path: Path, max_size: int) -> Iterator[FileStorage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "files", max_size=max_size)
        return
    server: SeaweedS3 = request.getfixturevalue("seaweed_s3")
    s3_storage(server).ensure_bucket()
    yield s3_storage(server, prefix=f"t-{uuid.uuid4().hex[:8]}", max_size=max_size)


def objects(storage: FileStorage) -> list[str]:
    """Everything the storage holds (temporary files included), whatever the backend."""
    if isinstance(storage, LocalStorage):
        if not storage.root.exists():
            return []
        return sorted(str(p.relative_to(storage.root)) for p in storage.root.rglob("*") if p.is_file())
    assert isinstance(storage, S3Storage)
    response = storage._client.list_objects_v2(Bucket=storage.bucket, Prefix=storage.prefix)
    return sorted(item["Key"][len(storage.prefix) :] for item in response.get("Contents", []))
