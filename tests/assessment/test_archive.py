"""The quarter's archive: folders, names, index.xlsx, manifest.json; ``sortline archive verify``."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.engine import Engine

from services.assessment import archive, tasks
from services.assessment.models import Archive, Task
from services.cli import main
from services.common.db import session_scope
from services.common.storage import LocalStorage
from tests.assessment.conftest import FakeRegistry, caller
from tests.assessment.test_workflow import PDF, PNG


def _built(engine: Engine, storage: LocalStorage, registry: FakeRegistry, quarter: str, tmp_path: Path) -> Path:
    with session_scope(engine) as session:
        ids = {(t.item_code, t.unit_code): t.id for t in session.execute(select(Task)).scalars()}
    uploads = [
        ("unit", ids[("1.2", "U02")], [(PDF, "条例.pdf"), (PDF, "条例.pdf")]),  # the same name twice
        ("unit_u03", ids[("2.1", "U03")], [(PDF, "统计:台账?.pdf")]),
        ("unit_u05", ids[("2.2", "U05")], [(PNG, "现场照片")]),
        ("office", ids[("1.1", "U01")], [(PDF, "CON.pdf")]),
    ]
    for who, task_id, files in uploads:
        stored = [storage.put(data, original_name=name) for data, name in files]
        with session_scope(engine) as session:
            tasks.submit(session, caller(who), task_id, stored, effective_date=date(2026, 11, 30), note=None)
    with session_scope(engine) as session:
        tasks.review(session, caller("office"), ids[("1.2", "U02")], "approve", None)
        row = archive.request_archive(session, caller("office"), quarter)
        archive_id = row.id
    assert archive_id is not None
    result = archive.build(engine, storage, registry, archive_id)
    assert result["files"] == 5
    with session_scope(engine) as session:
        row = session.get(Archive, archive_id)  # type: ignore[assignment]
        assert row is not None and row.state == "done" and row.key
        key = row.key
    path = tmp_path / "archive.zip"
    path.write_bytes(storage.open(key))
    return path


def test_archive_content(
    engine: Engine, storage: LocalStorage, registry: FakeRegistry, quarter: str, tmp_path: Path
) -> None:
    path = _built(engine, storage, registry, quarter, tmp_path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        index = load_workbook(io.BytesIO(zf.read("index.xlsx"))).active
    assert sorted(n for n in names if n not in ("manifest.json", "index.xlsx")) == [
        "01_体制机制建设/1.1_落实城市主体责任/市垃圾分类办_CON_2026-11-30.pdf",
        "01_体制机制建设/1.2_出台地方性法规或政府规章/市司法局_条例_2026-11-30 (2).pdf",
        "01_体制机制建设/1.2_出台地方性法规或政府规章/市司法局_条例_2026-11-30.pdf",
        "02_分类投放/2.1_居民小区分类覆盖率/市城管执法局_统计 台账 _2026-11-30.pdf",
        "02_分类投放/2.2_混投混放整治/市市场监管局_现场照片_2026-11-30.png",
    ]
    assert {f["path"] for f in manifest["files"]} == set(names) - {"manifest.json", "index.xlsx"}
    assert all(len(f["sha256"]) == 64 and f["size"] > 0 for f in manifest["files"])
    assert index is not None
    rows = list(index.iter_rows(values_only=True))
    assert rows[0][:3] == ("文件路径", "评估项目", "责任单位") and len(rows) == 6
    assert {r[7] for r in rows[1:]} == {"已通过", "已提交"}


def test_verify_finds_changed_missing_and_extra(
    engine: Engine,
    storage: LocalStorage,
    registry: FakeRegistry,
    quarter: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _built(engine, storage, registry, quarter, tmp_path)
    assert main(["archive", "verify", str(path)]) == 0
    assert "完整" in capsys.readouterr().out
    # one changed byte inside a stored file
    data = bytearray(path.read_bytes())
    at = data.find(PDF) + len(b"%PDF-1.4\n1 0 obj")
    data[at] ^= 0x01
    changed = tmp_path / "changed.zip"
    changed.write_bytes(bytes(data))
    assert main(["archive", "verify", str(changed)]) == 1
    out = capsys.readouterr().out
    assert "已改动：" in out
    # rebuilt with one file left out and one added
    rebuilt = tmp_path / "rebuilt.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(rebuilt, "w") as dst:
        skipped = next(n for n in src.namelist() if n.endswith(".png"))
        for name in src.namelist():
            if name != skipped:
                dst.writestr(name, src.read(name))
        dst.writestr("extra/说明.txt", "x")
    intact, problems = archive.verify(rebuilt)
    assert not intact and problems == [f"缺少：{skipped}", "多出：extra/说明.txt"]
    shutil.copy(path, tmp_path / "same.zip")
    assert archive.verify(tmp_path / "same.zip") == (True, [])


def test_safe_names() -> None:
    assert archive.safe_name('a<b>:"c"/d\\e|f?g*') == "a_b___c__d_e_f_g_"
    assert archive.safe_name("NUL") == "_NUL" and archive.safe_name("名称. ") == "名称"
