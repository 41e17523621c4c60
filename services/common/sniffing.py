"""What a file is, told by its bytes (never by its name): the types people upload as evidence and photos.

``sniff_type(head, file)`` returns a MIME type or ``None`` for anything else. ``head`` is the start of the
content; ``file`` (seekable, the whole content) is needed to tell the zip-based formats (docx/xlsx/pptx/OFD)
and the OLE2 compound files (doc/xls/ppt) apart; without it only what the head shows is answered.
``possible_types(head)`` is what a file starting with ``head`` can still turn out to be, so an upload of the
wrong kind is refused after its first kilobyte instead of after the whole body.
"""

from __future__ import annotations

import struct
import zipfile
from typing import IO

from services.common.storage import DOC, DOCX, OFD, PPT, PPTX, XLS, XLSX

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
HEIC = "image/heic"
HEIF = "image/heif"
MP4 = "video/mp4"
MOV = "video/quicktime"

DOCUMENT_TYPES = frozenset({PDF, DOCX, XLSX, PPTX, DOC, XLS, PPT, OFD})
PHOTO_TYPES = frozenset({JPEG, PNG, HEIC, HEIF})
VIDEO_TYPES = frozenset({MP4, MOV})
EVIDENCE_TYPES = DOCUMENT_TYPES | PHOTO_TYPES | VIDEO_TYPES

# For messages: what a person calls each type.
TYPE_LABELS = {
    PDF: "PDF",
    DOCX: "Word",
    DOC: "Word",
    XLSX: "Excel",
    XLS: "Excel",
    PPTX: "PowerPoint",
    PPT: "PowerPoint",
    OFD: "OFD",
    JPEG: "JPEG",
    PNG: "PNG",
    HEIC: "HEIC",
    HEIF: "HEIC",
    MP4: "MP4",
    MOV: "MOV",
}

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# PDF readers accept the header anywhere in the first kilobyte (some generators put bytes before it).
PDF_HEADER_WINDOW = 1024

_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
_MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V ", b"mp71"}
_MOV_BRANDS = {b"qt  "}
_AVIF_BRANDS = {b"avif", b"avis"}


def labels(types: frozenset[str] | set[str]) -> str:
    """``{PDF, DOCX, DOC}`` → ``"PDF、Word"`` (each label once, in a stable order)."""
    seen: list[str] = []
    for mime, label in TYPE_LABELS.items():
        if mime in types and label not in seen:
            seen.append(label)
    return "、".join(seen)


def sniff_type(head: bytes, file: IO[bytes] | None = None) -> str | None:
    """The MIME type the content shows, or ``None`` when it is none of the accepted kinds."""
    if b"%PDF-" in head[:PDF_HEADER_WINDOW]:
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(PNG_MAGIC):
        return PNG
    if head[4:8] == b"ftyp":
        return _ftyp_type(head)
    if head.startswith(OLE_MAGIC):
        return _ole_type(file) if file is not None else None
    if head.startswith(ZIP_MAGIC):
        return _zip_type(file) if file is not None else None
    return None


def possible_types(head: bytes) -> frozenset[str]:
    """Every type a content starting with ``head`` may still turn out to be (empty: refuse it now).

    ``head`` must be at least the first ``PDF_HEADER_WINDOW`` bytes, or the whole content when shorter.
    """
    if head.startswith(OLE_MAGIC):
        return frozenset({DOC, XLS, PPT})
    if head.startswith(ZIP_MAGIC):
        return frozenset({DOCX, XLSX, PPTX, OFD})
    found = sniff_type(head)
    return frozenset({found}) if found else frozenset()


def _ftyp_type(head: bytes) -> str | None:
    (box_size,) = struct.unpack(">I", head[:4])
    box = head[8 : min(max(box_size, 16), 256, len(head))]
    major = box[:4]
    if major in _AVIF_BRANDS:
        return None  # AVIF shares HEIF's container (and lists mif1) but is not one of ours
    compatible = {box[i : i + 4] for i in range(8, len(box) - 3, 4)}
    for brands in ({major}, compatible):
        if brands & _HEIC_BRANDS:
            return HEIC
        if brands & _HEIF_BRANDS:
            return HEIF
        if brands & _MOV_BRANDS:
            return MOV
        if brands & _MP4_BRANDS:
            return MP4
    return None


def _zip_type(file: IO[bytes]) -> str | None:
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    if "OFD.xml" in names:  # GB/T 33190-2016: the entry point sits at the root of the package
        return OFD
    if "[Content_Types].xml" in names:
        for prefix, kind in (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX)):
            if any(n.startswith(prefix) for n in names):
                return kind
    return None


# --- OLE2 compound files (the old Office formats): read just enough to list the streams -----------------

_FREE_SECT = 0xFFFFFFFF
_MAX_SECTORS = 4096  # directory sectors read at most (a real directory has a handful)
_OLE_STREAMS = {"worddocument": DOC, "workbook": XLS, "book": XLS, "powerpoint document": PPT}


def _ole_type(file: IO[bytes]) -> str | None:
    try:
        names = _ole_names(file)
    except (struct.error, ValueError, OSError):
        return None
    for name in names:
        kind = _OLE_STREAMS.get(name.lower())
        if kind:
            return kind
    return None


def _ole_names(file: IO[bytes]) -> list[str]:
    """The names in the compound file's directory (MS-CFB 2.6), following the FAT chain of its sectors."""
    file.seek(0)
    header = file.read(512)
    if len(header) < 512 or not header.startswith(OLE_MAGIC):
        raise ValueError("not a compound file")
    sector_shift = struct.unpack_from("<H", header, 0x1E)[0]
    if sector_shift not in (9, 12):
        raise ValueError("bad sector size")
    size = 1 << sector_shift
    first_dir = struct.unpack_from("<I", header, 0x30)[0]
    first_difat, difat_count = struct.unpack_from("<II", header, 0x44)
    fat_sectors = [s for s in struct.unpack_from("<109I", header, 0x4C) if s != _FREE_SECT]
    per_sector = size // 4
    sector, seen = first_difat, 0
    while difat_count and sector < 0xFFFFFFFA and seen < min(difat_count, _MAX_SECTORS):
        entries = struct.unpack(f"<{per_sector}I", _sector(file, sector, size))
        fat_sectors += [s for s in entries[:-1] if s != _FREE_SECT]
        sector, seen = entries[-1], seen + 1

    def next_sector(n: int) -> int:
        index, offset = divmod(n, per_sector)
        if index >= len(fat_sectors):
            raise ValueError("sector outside the FAT")
        data = _sector(file, fat_sectors[index], size)
        return int(struct.unpack_from("<I", data, offset * 4)[0])

    names: list[str] = []
    sector, visited = first_dir, set[int]()
    while sector < 0xFFFFFFFA and sector not in visited and len(visited) < _MAX_SECTORS:
        visited.add(sector)  # a chain that loops back ends here
        data = _sector(file, sector, size)
        for pos in range(0, size, 128):
            entry = data[pos : pos + 128]
            length = struct.unpack_from("<H", entry, 0x40)[0]
            if entry[0x42] in (1, 2, 5) and 2 <= length <= 64:
                names.append(entry[: length - 2].decode("utf-16-le", errors="replace"))
        sector = next_sector(sector)
    return names


def _sector(file: IO[bytes], number: int, size: int) -> bytes:
    file.seek((number + 1) * size)
    data = file.read(size)
    if len(data) < size:
        raise ValueError("sector past the end of the file")
    return data
