"""Evidence files over HTTP through the kernel's upload and download paths.

Uploads stream straight into the file storage (``receive_upload``: type by content, size limit while
streaming, SHA-256); downloads stream with Range (``file_response``). A unit's liaison only reaches
files of its own unit's tasks: any other id answers 404.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from services.assessment import quarters, tasks
from services.assessment.app_state import Ports
from services.common.auth import Caller
from services.common.db import session_scope
from services.common.errors import InvalidInput


def _effective_date(value: str | None) -> date:
    if not value:
        raise InvalidInput.field("effective_date", "必填：材料的生效日期（YYYY-MM-DD）")
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput.field("effective_date", "日期格式应为 YYYY-MM-DD", value) from exc


async def submit_upload(request: Request, caller: Caller, task_id: int) -> dict[str, Any]:
    from services.common.uploads import EVIDENCE_TYPES, receive_upload  # kernel-files

    ports: Ports = request.app.state.ports
    settings = ports.settings
    engine = request.app.state.engine
    # Check the task (scope, state) before taking any bytes.
    await run_in_threadpool(_precheck, engine, caller, task_id)
    form = await receive_upload(
        request, ports.storage, max_size=settings.max_file_size, accept=EVIDENCE_TYPES, max_files=settings.max_files
    )
    try:
        effective = _effective_date(form.fields.get("effective_date"))
        return await run_in_threadpool(
            _store, engine, caller, task_id, form.files, effective, form.fields.get("note"), settings.max_files
        )
    except BaseException:
        for f in form.files:
            ports.storage.delete(f.key)
        raise


def _precheck(engine: Any, caller: Caller, task_id: int) -> None:
    with session_scope(engine.execution_options(sqlite_deferred=True)) as session:
        task = tasks.get_task(session, caller, task_id)
        from services.assessment.workflow import check

        quarter = quarters.get(session, task.quarter_id)
        check(caller, task, quarter, "submit")


def _store(
    engine: Any, caller: Caller, task_id: int, files: Any, effective: date, note: str | None, max_files: int
) -> dict[str, Any]:
    with session_scope(engine) as session:
        return tasks.submit(session, caller, task_id, files, effective_date=effective, note=note, max_files=max_files)


async def file_download(request: Request, caller: Caller, file_id: int) -> Response:
    from services.common.downloads import file_response  # kernel-files

    ports: Ports = request.app.state.ports

    def find() -> Any:
        with session_scope(request.app.state.read_engine) as session:
            return tasks.file_for(session, caller, file_id)

    f = await run_in_threadpool(find)
    inline = request.query_params.get("download") not in ("1", "true")  # PDFs and images open in the page
    name = download_name(f.original_name, f.content_type)
    return file_response(
        request,
        ports.storage,
        f.key,
        filename=name,
        content_type=f.content_type,
        size=f.size,
        inline=inline,
        etag=f.sha256,
    )


def download_name(original: str, content_type: str) -> str:
    """The person's name with the extension of what the file really is (a PDF named .docx is a .pdf)."""
    from pathlib import PurePosixPath

    from services.assessment.archive import EXTENSIONS

    ext = EXTENSIONS.get(content_type)
    path = PurePosixPath(original)
    if not ext or path.suffix.lower() == ext:
        return original
    return f"{path.stem if path.suffix else original}{ext}"
