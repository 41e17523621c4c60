"""The quarter's archive for the evaluators, and ``sortline archive verify``.

Layout of the ZIP (stored, not deflated: evidence is PDFs and images, already compressed)::

    01_体制机制建设/1.1_落实城市主体责任/市垃圾分类办_成立领导小组文件_2026-11-30.pdf
    index.xlsx      item, unit, file, effective date, reviewer, state
    manifest.json   {"quarter", "created_at", "files": [{"path", "size", "sha256"}]}

Names are safe on Windows (no reserved characters or names, no trailing dots or spaces, bounded
length) and unique (a clash gets " (2)"). The job streams each file from the storage into a temporary
ZIP (memory stays flat), checks every file's SHA-256 on the way, then stores the ZIP in the file storage.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import unicodedata
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.assessment import errors, repository
from services.assessment.models import Archive, Quarter, outbox
from services.assessment.ports import RegistryPort
from services.assessment.units import UnitDirectory
from services.assessment.workflow import STATE_LABELS
from services.common import clock
from services.common.auth import Caller, require_role
from services.common.columns import values_of
from services.common.db import session_scope
from services.common.errors import Conflict
from services.common.tabular import Column, stream_xlsx

MANIFEST = "manifest.json"
INDEX = "index.xlsx"
CHUNK = 1024 * 1024
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_BAD = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/heic": ".heic",
    "image/heif": ".heif",
    "application/ofd": ".ofd",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "video/mp4": ".mp4",
}
INDEX_COLUMNS = [
    Column("path", "文件路径", width=60),
    Column("item", "评估项目", width=30),
    Column("unit", "责任单位", width=20),
    Column("file", "文件名", width=30),
    Column("effective_date", "生效日期", date=True),
    Column("revision", "版本"),
    Column("reviewer", "审核人", width=14),
    Column("state", "状态", width=10),
    Column("sha256", "SHA-256", width=66),
]


def safe_name(text: str, limit: int = 80) -> str:
    """A file or folder name Windows accepts, keeping the Chinese."""
    text = unicodedata.normalize("NFC", text)
    text = _BAD.sub("_", text).strip().rstrip(". ")
    if text.split(".")[0].upper() in _RESERVED:
        text = "_" + text
    return text[:limit].rstrip(". ") or "_"


def _unique(path: str, used: set[str]) -> str:
    if path.lower() not in used:
        used.add(path.lower())
        return path
    stem, dot, ext = path.rpartition(".")
    if not dot or "/" in ext:
        stem, ext = path, ""
    n = 2
    while True:
        candidate = f"{stem} ({n}){'.' + ext if ext else ''}"
        if candidate.lower() not in used:
            used.add(candidate.lower())
            return candidate
        n += 1


def plan(session: Session, directory: UnitDirectory, quarter: Quarter) -> list[dict[str, Any]]:
    """Every file of each task's latest revision with its path in the archive."""
    items = {i.code: i for i in repository.catalogue_items(session, quarter.catalogue_id)}
    categories: list[str] = []
    for each in items.values():
        if each.category not in categories:
            categories.append(each.category)
    used: set[str] = set()
    out: list[dict[str, Any]] = []
    for task, sub, f in repository.latest_files(session, quarter.id):
        item = items.get(task.item_code)
        category = task.category
        folder = f"{categories.index(category) + 1 if category in categories else 0:02d}_{safe_name(category, 40)}"
        item_folder = safe_name(f"{task.item_code}_{item.name if item else ''}", 60)
        original = PurePosixPath(f.original_name)
        ext = original.suffix.lower() if original.suffix else EXTENSIONS.get(f.content_type, "")
        if EXTENSIONS.get(f.content_type) and ext != EXTENSIONS[f.content_type]:
            ext = EXTENSIONS[f.content_type]  # the name is the person's; the type is the content's
        base = safe_name(f"{directory.name(task.unit_code)}_{original.stem}_{sub.effective_date.isoformat()}", 100)
        path = _unique(f"{folder}/{item_folder}/{base}{ext}", used)
        out.append(
            {
                "path": path,
                "key": f.key,
                "size": f.size,
                "sha256": f.sha256,
                "item": f"{task.item_code} {item.name if item else ''}",
                "unit": directory.name(task.unit_code),
                "file": f.original_name,
                "effective_date": sub.effective_date,
                "revision": sub.revision,
                "reviewer": task.reviewer_name or "",
                "state": STATE_LABELS.get(task.state, task.state),
            }
        )
    return out


def write_zip(target: Any, storage: Any, entries: list[dict[str, Any]], quarter_id: str, progress: Any = None) -> int:
    """Stream the files into a ZIP on ``target``; returns the number of files.

    The manifest holds each file's SHA-256 taken at upload, so ``archive verify`` also finds a file the
    storage changed since; here only the size is checked (hashing 1 GB twice would double the CPU cost)."""
    manifest: list[dict[str, Any]] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for done, entry in enumerate(entries, start=1):
            size = 0
            info = zipfile.ZipInfo(entry["path"], date_time=clock.local(clock.now()).timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = entry["size"]
            with zf.open(info, "w", force_zip64=entry["size"] > 2**31) as out:
                for chunk in storage.iter_chunks(entry["key"]):
                    size += len(chunk)
                    out.write(chunk)
            if size != entry["size"]:
                raise RuntimeError(f"存储中的文件 {entry['path']} 大小与提交时不一致（{size} ≠ {entry['size']}）")
            manifest.append({"path": entry["path"], "size": size, "sha256": entry["sha256"]})
            if progress is not None:
                progress(done, len(entries))
        with zf.open(INDEX, "w") as out:
            for chunk in stream_xlsx(INDEX_COLUMNS, entries, sheet_title="档案索引"):
                out.write(chunk)
        body = {"quarter": quarter_id, "created_at": clock.now().isoformat(), "files": manifest}
        zf.writestr(MANIFEST, json.dumps(body, ensure_ascii=False, indent=1))
    return len(manifest)


class _WriteOnly:
    """A storage's pending file seen by ``zipfile`` as an unseekable stream (data descriptors)."""

    def __init__(self, pending: Any) -> None:
        self._pending = pending

    def write(self, data: bytes) -> int:
        self._pending.write(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def build(
    engine: Engine, storage: Any, registry: RegistryPort, archive_id: int, progress: Any = None
) -> dict[str, Any]:
    """The job: build the ZIP of the archive row's quarter and store it."""
    with session_scope(engine) as session:
        row = repository.row(session, Archive, archive_id)
        assert row is not None
        quarter = repository.row(session, Quarter, row.quarter_id)
        assert quarter is not None
        row.state = "running"
        session.add(row)
        directory = UnitDirectory(registry.units(), repository.aliases(session))
        entries = plan(session, directory, quarter)
        quarter_id = quarter.id
    name = f"{quarter_id}_国检档案.zip"
    try:
        begin = getattr(storage, "begin", None)
        if begin is not None:  # written once, straight into the storage (no second copy)
            with begin(max_size=1 << 40) as pending:
                count = write_zip(_WriteOnly(pending), storage, entries, quarter_id, progress)
                stored = pending.commit(content_type="application/zip", original_name=name)
        else:
            with tempfile.TemporaryFile() as tmp:
                count = write_zip(tmp, storage, entries, quarter_id, progress)
                tmp.seek(0)
                stored = storage.put(tmp, original_name=name, max_size=1 << 40)
    except Exception as exc:
        with session_scope(engine) as session:
            row = repository.row(session, Archive, archive_id)
            assert row is not None
            row.state, row.error, row.finished_at = "failed", str(exc)[:2000], clock.now()
            session.add(row)
        raise
    with session_scope(engine) as session:
        row = repository.row(session, Archive, archive_id)
        assert row is not None
        row.state, row.key, row.size, row.sha256, row.files = "done", stored.key, stored.size, stored.sha256, count
        row.finished_at = clock.now()
        session.add(row)
        outbox.emit(
            session,
            "archive",
            "built",
            quarter_id,
            {"quarter": quarter_id, "archive_id": archive_id, "files": count, "size": stored.size},
        )
    return {"archive_id": archive_id, "files": count, "size": stored.size, "sha256": stored.sha256}


def request_archive(session: Session, caller: Caller, quarter_id: str) -> Archive:
    require_role(caller, "admin", "office")
    repository.found(session, Quarter, quarter_id, errors.quarter_not_found)
    running = repository.latest_archive(session, quarter_id, ("queued", "running"))
    if running is not None:
        return running
    row = Archive(quarter_id=quarter_id, state="queued", created_at=clock.now())
    session.add(row)
    session.flush()
    return row


def status_public(row: Archive) -> dict[str, Any]:
    return {"id": row.id, "quarter": row.quarter_id} | values_of(
        row, "state", "size", "sha256", "files", "error", "created_at", "finished_at"
    )


def latest(session: Session, quarter_id: str, *, done: bool = False) -> Archive:
    row = repository.latest_archive(session, quarter_id, ("done",) if done else None)
    if row is None:
        repository.found(session, Quarter, quarter_id, errors.quarter_not_found)
        raise Conflict(
            f"季度 {quarter_id} 的档案包还没有生成：请先 POST /quarters/{quarter_id}/archive", code="archive_not_built"
        )
    return row


# --------------------------------------------------------------------------------------------------
# sortline archive verify FILE.zip


def verify(path: str | Path) -> tuple[bool, list[str]]:
    """Check a downloaded archive against its manifest: (intact, Chinese lines naming each problem)."""
    problems: list[str] = []
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return False, [f"无法打开档案包：{exc}"]
    with zf:
        names = {i.filename for i in zf.infolist() if not i.is_dir()}
        if MANIFEST not in names:
            return False, ["档案包中没有 manifest.json"]
        try:
            manifest = json.loads(zf.read(MANIFEST))
            listed = {str(f["path"]): f for f in manifest["files"]}
        except (ValueError, KeyError, TypeError) as exc:
            return False, [f"manifest.json 无法读取：{exc}"]
        for name in sorted(listed):
            if name not in names:
                problems.append(f"缺少：{name}")
                continue
            digest = hashlib.sha256()
            size = 0
            try:
                with zf.open(name) as f:
                    for chunk in iter(lambda f=f: f.read(CHUNK), b""):  # type: ignore[misc]
                        digest.update(chunk)
                        size += len(chunk)
            except (zipfile.BadZipFile, OSError) as exc:  # a changed byte breaks the entry's CRC
                problems.append(f"已改动：{name}（{exc}）")
                continue
            expected = listed[name]
            if digest.hexdigest() != expected["sha256"] or size != int(expected["size"]):
                problems.append(f"已改动：{name}")
        for name in sorted(names - set(listed) - {MANIFEST, INDEX}):
            problems.append(f"多出：{name}")
    return not problems, problems


def verify_command(path: str) -> int:
    """``sortline archive verify FILE.zip``: 0 when intact, 1 naming every missing, extra or changed file."""
    intact, problems = verify(path)
    if intact:
        print(f"档案包完整：{path}")
        return 0
    print(f"档案包与 manifest.json 不符（{len(problems)} 处）：{path}")
    for line in problems:
        print(f"  {line}")
    return 1
