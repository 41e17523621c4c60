"""Through HTTP with the kernel's upload and download paths: type by content (an .exe renamed .pdf
is refused, a .pdf with a wrong name accepted), several files per submission, Range downloads, another
unit's file answers 404; the archive as a job and its download; the circular and auto-evidence PDFs."""

from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from services.assessment.models import Task
from services.common.db import session_scope
from tests.assessment.test_workflow import EXE, PDF, PNG

pytest.importorskip("services.common.uploads")
pytest.importorskip("services.common.downloads")


def _task(engine: Engine, item: str, unit: str) -> int:
    with session_scope(engine) as session:
        task = session.execute(select(Task).where(Task.item_code == item, Task.unit_code == unit)).scalars().one()
        assert task.id is not None
        return task.id


def _post(
    client: TestClient, headers: dict[str, str], task_id: int, files: list[tuple[str, bytes]], **fields: str
) -> Any:
    data = {"effective_date": "2026-11-30", "note": "材料"} | fields
    return client.post(
        f"/tasks/{task_id}/submissions",
        files=[("files", (name, body, "application/octet-stream")) for name, body in files],
        data=data,
        headers=headers,
    )


def test_upload_by_content_and_download(
    client: TestClient, as_: Callable[[str], dict[str, str]], engine: Engine, quarter: str
) -> None:
    task_id = _task(engine, "2.2", "U05")  # accepts PDF, images, Office
    r = _post(client, as_("unit_u05"), task_id, [("条例.pdf", EXE)])
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "files"
    r = _post(client, as_("unit_u05"), task_id, [("名字不对.docx", PDF), ("现场.jpg", PNG)])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["revision"] == 1 and [f["content_type"] for f in body["files"]] == ["application/pdf", "image/png"]
    assert all(len(f["sha256"]) == 64 for f in body["files"])
    r = _post(client, as_("unit_u05"), task_id, [("a.pdf", PDF)], effective_date="30/11/2026")
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "effective_date"
    r = _post(client, as_("unit_u05"), task_id, [(f"{i}.pdf", PDF) for i in range(11)])
    assert r.status_code == 422
    file_id = body["files"][0]["id"]
    whole = client.get(f"/files/{file_id}", headers=as_("unit_u05"))
    assert whole.status_code == 200 and whole.content == PDF
    assert whole.headers["content-disposition"].startswith("inline")
    attached = client.get(f"/files/{file_id}?download=1", headers=as_("unit_u05"))
    assert attached.headers["content-disposition"].startswith("attachment")
    assert attached.headers["content-disposition"].endswith(".pdf")  # named for what it is, not .docx
    part = client.get(f"/files/{file_id}", headers=as_("unit_u05") | {"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"%PDF"
    assert client.get(f"/files/{file_id}", headers=as_("unit")).status_code == 404
    assert client.get(f"/files/{file_id}", headers=as_("office")).status_code == 200
    assert _post(client, as_("unit"), task_id, [("a.pdf", PDF)]).status_code == 404  # another unit's task


def test_archive_job_and_download(
    app: Any, client: TestClient, as_: Callable[[str], dict[str, str]], engine: Engine, quarter: str, tmp_path: Any
) -> None:
    pytest.importorskip("services.common.jobs")
    from services.assessment.background import runner_of

    task_id = _task(engine, "1.2", "U02")
    assert _post(client, as_("unit"), task_id, [("条例.pdf", PDF)]).status_code == 201
    assert client.get(f"/quarters/{quarter}/archive", headers=as_("office")).status_code == 409
    r = client.post(f"/quarters/{quarter}/archive", headers=as_("office"))
    assert r.status_code == 202 and r.json()["state"] == "queued"
    assert client.post(f"/quarters/{quarter}/archive", headers=as_("unit")).status_code == 403
    runner_of(app).run_pending()
    status = client.get(f"/quarters/{quarter}/archive/status", headers=as_("office")).json()
    assert status["state"] == "done" and status["files"] == 1
    download = client.get(f"/quarters/{quarter}/archive", headers=as_("office"))
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as zf:
        assert any(n.endswith("市司法局_条例_2026-11-30.pdf") for n in zf.namelist())
    path = tmp_path / "a.zip"
    path.write_bytes(download.content)
    result = subprocess.run(
        ["/work/main/.venv/bin/python", "-m", "services.cli", "archive", "verify", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_circular_and_auto_evidence(
    client: TestClient, as_: Callable[[str], dict[str, str]], engine: Engine, quarter: str
) -> None:
    pytest.importorskip("services.common.documents")
    r = client.get(f"/rankings/circular.pdf?period={quarter}&number=洪分类办〔2026〕12号", headers=as_("leader"))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=r.content, capture_output=True, check=True).stdout.decode()
    assert "成员单位" in text and "洪分类办〔2026〕12号" in text
    metric_task = _task(engine, "2.1", "U03")
    r = client.post(f"/tasks/{metric_task}/auto-evidence", headers=as_("office"))
    assert r.status_code == 201, r.text
    assert r.json()["system"] is True and r.json()["files"][0]["content_type"] == "application/pdf"
    manual = _task(engine, "2.2", "U05")
    assert client.post(f"/tasks/{manual}/auto-evidence", headers=as_("office")).status_code == 409
