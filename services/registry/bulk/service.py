"""The rules of ``/imports``: who may import and see which jobs, storing the upload (in the file
storage, so that every replica finds it), the job's JSON, confirming. The work itself runs as
jobs of the registry's kernel job runner (``jobs.Importer``); every query is in ``repository``."""

from __future__ import annotations

import io
import threading
from typing import IO, Any, BinaryIO, cast

from fastapi import FastAPI
from sqlalchemy.engine import Connection
from sqlmodel import Session

from services.common import clock
from services.common.auth import Caller
from services.common.errors import Conflict, ErrorDetail, InvalidInput, NotFound
from services.common.idempotency import IdempotentWrite, Written
from services.common.jobs import JobRunner
from services.common.storage import EmptyFile, FileStorage, FileTooLarge, StoredFile
from services.common.tabular import NO_DATA, ErrorEntry, TabularError, open_table, spool
from services.registry import repository as registry_repository
from services.registry.bulk import jobs, repository
from services.registry.bulk.columns import SPECS, Spec
from services.registry.models import jobs as job_tables_of_registry
from services.registry.service import can_write, visible_county

SHOWN_ERRORS = 200
_runner_lock = threading.Lock()


def spec_of(kind: str) -> Spec:
    spec = SPECS.get(kind)
    if spec is None:
        raise InvalidInput.field("kind", "应为 sites、facilities、vehicles 之一", kind)
    return spec


def importer(app: FastAPI) -> jobs.Importer:
    """The app's import passes and its file storage (``app.state.file_storage``), made once on first
    use (tests hand in an engine and run no lifespan), registered on the app's job runner."""
    with _runner_lock:
        found: jobs.Importer | None = getattr(app.state, "importer", None)
        if found is None:
            options = jobs.ImportSettings()
            storage: FileStorage | None = getattr(app.state, "file_storage", None)
            if storage is None:
                storage = jobs.open_storage(app.state.settings, options)
                app.state.file_storage = storage
            found = jobs.Importer(app.state.engine, app.state.settings, options, storage)
            runner = JobRunner(app.state.engine, job_tables_of_registry, storage=storage, workers=options.workers)
            found.register(runner)
            app.state.importer = found
            app.state.job_runner = runner
        return found


def job_runner(app: FastAPI) -> JobRunner:
    """The registry's job runner (``SORTLINE_REGISTRY_IMPORT_WORKERS`` jobs at once, two by default)."""
    importer(app)
    runner: JobRunner = app.state.job_runner
    return runner


def kick(app: FastAPI) -> None:
    """After a commit that queued a job: run it now (``INLINE=1``) or wake the runner's thread."""
    runner = job_runner(app)
    if importer(app).options.inline:
        runner.run_pending()
    else:
        runner.start()
        runner.wake()


# --- the job as the API shows it --------------------------------------------------------------


def public(conn: Session | Connection, job: dict[str, Any], live: dict[str, int] | None = None) -> dict[str, Any]:
    processed = job["processed_rows"]
    if live and job["status"] == "writing" and job["id"] in live:
        processed = max(processed, live[job["id"]])
    errors = repository.errors(conn, job["id"], SHOWN_ERRORS) if job["error_count"] else []

    def ts(value: Any) -> Any:
        return clock.as_utc(value) if value is not None else None

    return {
        "id": job["id"],
        "kind": job["kind"],
        "filename": job["filename"],
        "status": job["status"],
        "total_rows": job["total_rows"],
        "processed_rows": processed,
        "error_count": job["error_count"],
        "errors": [{"row": r, "column": c, "value": v, "message": m} for r, c, v, m in errors],
        "created_count": job["created_count"],
        "first_code": job["first_code"],
        "last_code": job["last_code"],
        "message": job["message"],
        "created_by": job["created_by_name"] or job["created_by"],
        "created_at": ts(job["created_at"]),
        "updated_at": ts(job["updated_at"]),
        "finished_at": ts(job["finished_at"]),
    }


def _visible(conn: Session | Connection, caller: Caller, job_id: str) -> dict[str, Any]:
    county = visible_county(caller)
    job = repository.load_job(conn, job_id)
    if job is None or (county is not None and job["county_code"] != county):
        raise NotFound(f"导入任务 {job_id} 不存在或不在您的辖区内", code="import_not_found")
    return job


def imported_by(conn: Session | Connection, caller: Caller, plural: str, job_id: str) -> dict[str, Any]:
    """The list filter that selects what a finished import registered (``?import_job=``): its records
    were written in one transaction and share its instant (``created_at``), whatever their counties."""
    job = _visible(conn, caller, job_id)
    if job["kind"] != plural or job["status"] != "done" or not job["first_code"]:
        raise InvalidInput.field("import_job", f"导入任务 {job_id} 没有登记{SPECS[plural].label}")
    first = registry_repository.get_by_code(conn, jobs.TABLES[SPECS[plural].name], job["first_code"])
    if first is None:  # pragma: no cover - records are never deleted
        raise NotFound(f"导入任务 {job_id} 登记的记录不存在", code="import_not_found")
    return {"created_at": first["created_at"]}


def get_job(conn: Session | Connection, caller: Caller, job_id: str, live: dict[str, int]) -> dict[str, Any]:
    return public(conn, _visible(conn, caller, job_id), live)


def list_jobs(
    conn: Session | Connection, caller: Caller, *, kind: str | None, limit: int, live: dict[str, int]
) -> dict[str, Any]:
    found = repository.list_jobs(
        conn, county=visible_county(caller), kind=spec_of(kind).plural if kind else None, limit=max(1, min(limit, 100))
    )
    return {"items": [public(conn, job, live) for job in found]}


def report(conn: Session | Connection, caller: Caller, job_id: str) -> tuple[Spec, list[ErrorEntry]]:
    """Every stored error of a job (and a last line when more were found than stored)."""
    job = _visible(conn, caller, job_id)
    entries: list[ErrorEntry] = repository.errors(conn, job_id, None)
    if job["error_count"] > len(entries):
        more = job["error_count"] - len(entries)
        entries.append((0, "", None, f"另有 {more:,} 处错误未列出：请先改正以上错误后重新上传"))
    return SPECS[job["kind"]], entries


# --- upload and confirm ---------------------------------------------------------------------


def _too_big(max_bytes: int) -> TabularError:
    return TabularError(
        f"文件太大：最大 {max_bytes // (1024 * 1024)} MB，请分成多个文件上传",
        details=[ErrorDetail(field="file", message="文件太大", value=max_bytes)],
    )


def _seekable(upload: IO[bytes], max_bytes: int) -> tuple[IO[bytes], bool]:
    """The upload as a seekable file at position 0 (the request's spooled file as it is; anything
    else spooled here), and whether the caller must close it. Over ``max_bytes``: 422."""
    try:
        size = upload.seek(0, io.SEEK_END) if upload.seekable() else -1
        upload.seek(0)
    except (OSError, ValueError, AttributeError):
        size = -1
    if size > max_bytes:
        raise _too_big(max_bytes)
    if size >= 0:
        return upload, False
    return spool(upload, max_bytes, _too_big(max_bytes)), True  # closed by start


def _store(storage: FileStorage, upload: IO[bytes], filename: str, max_bytes: int) -> StoredFile:
    """Stream the (checked) upload into the file storage; its key, SHA-256 and size."""
    upload.seek(0)
    try:
        return storage.put(cast(BinaryIO, upload), original_name=filename, max_size=max_bytes)
    except FileTooLarge:
        raise _too_big(max_bytes) from None
    except EmptyFile:  # pragma: no cover - an empty file has no header and fails the check first
        raise TabularError(NO_DATA) from None


def start(
    session: Session,
    app: FastAPI,
    caller: Caller,
    kind: str,
    upload: IO[bytes],
    filename: str,
    write: IdempotentWrite,
) -> tuple[dict[str, Any], bool]:
    """Store the upload, check that it is a table with the template's columns (422 otherwise),
    and create the job. Returns the job and whether it is new (a retried key gives the first)."""
    spec = spec_of(kind)
    can_write(caller, caller.county_code if caller.role == "county" else None)
    work = importer(app)
    options = work.options
    filename = (filename or f"{spec.label}导入.xlsx").replace("/", "_").replace("\\", "_")[:255]
    job_id = jobs.new_job_id()
    # Size and header are checked on the request's own file: nothing is stored for a 422.
    source, owned = _seekable(upload, options.max_bytes)
    try:
        with open_table(
            source, filename, spec.columns, max_rows=options.max_rows, max_bytes=options.max_bytes
        ) as table:
            total = table.total_rows
        stored = _store(work.storage, source, filename, options.max_bytes)
    finally:
        if owned:
            source.close()
    file_path, sha256, size = stored.key, stored.sha256, stored.size
    created: list[bool] = []

    def action() -> Written:
        now = clock.now()
        job = {
            "id": job_id,
            "kind": spec.plural,
            "filename": filename,
            "county_code": caller.county_code if caller.role == "county" else None,
            "status": "validating",
            "total_rows": total,
            "processed_rows": 0,
            "valid_rows": 0,
            "error_count": 0,
            "created_count": 0,
            "message": f"正在校验文件（约 {total:,} 行）" if total is not None else "正在校验文件",
            "created_by": caller.sub,
            "created_by_name": caller.name,
            "caller": caller.model_dump(include={"sub", "name", "role", "county_code"}),
            "file_path": file_path,  # the storage key of the upload
            "file_sha256": sha256,
            "file_size": size,
            "runner": jobs.runner_id(),
            "created_at": now,
            "updated_at": now,
        }
        repository.insert_job(session, job)
        job_runner(app).enqueue(
            session, jobs.VALIDATE, {"import_id": job_id}, jobs.dedupe_key(jobs.VALIDATE, job_id), owner=caller.sub
        )
        created.append(True)
        return Written({"id": job_id}, created=True)

    try:
        body = write.run(session, {"kind": spec.plural, "sha256": sha256, "filename": filename}, action).body
    except BaseException:
        work.discard(file_path)
        raise
    if not created:  # a retry: the first upload's job answers, this copy goes
        work.discard(file_path)
    job = repository.load_job(session, body["id"])
    if job is None:  # pragma: no cover - the first job was deleted
        raise NotFound("导入任务不存在", code="import_not_found")
    return public(session, job), bool(created)


_NOT_READY = {
    "validating": "文件仍在校验中，请等校验完成后再确认导入",
    "invalid": "文件有错误，不能导入：请下载错误报告，修改后重新上传",
    "failed": "该导入已失败，不能再确认：请重新上传文件",
}


def confirm(session: Session, app: FastAPI, caller: Caller, job_id: str) -> tuple[dict[str, Any], bool]:
    """Start writing a ``ready`` job (True); a job already writing or done answers as it is (False)."""
    job = _visible(session, caller, job_id)
    can_write(caller, job["county_code"])
    if job["status"] == "ready":
        changed = repository.set_job(
            session,
            job_id,
            only_if_status=("ready",),
            status="writing",
            processed_rows=0,
            runner=jobs.runner_id(),
            message=f"正在写入（共 {job['valid_rows']:,} 行）",
        )
        if changed:
            job_runner(app).enqueue(
                session, jobs.WRITE, {"import_id": job_id}, jobs.dedupe_key(jobs.WRITE, job_id), owner=caller.sub
            )
        job = repository.load_job(session, job_id) or job
        return public(session, job), changed == 1
    if job["status"] in ("writing", "done"):
        return public(session, job), False
    raise Conflict(_NOT_READY.get(job["status"], "该导入当前不能确认"), code="import_not_ready")
