"""Import jobs on the kernel's job runner (``services.common.jobs``): the validation pass and the write
pass are two job kinds, ``registry.import.validate`` and ``registry.import.write``.

Life of an import: ``validating`` (a validate job checks the whole file, storing errors as found) →
``invalid`` (errors, or a file that turned out unreadable) or ``ready`` → confirm (a write job) →
``writing`` → ``done`` or ``failed``. The import row (``import_job``) is what the API shows; the
kernel's ``job`` row is the work (claimed by one replica, heartbeat, recovery). A worker that dies
mid-job leaves its kernel job to be recovered by another runner, which fails it (imports are not
retried: the user uploads again) and marks the import ``failed`` with ``INTERRUPTED``. Import rows
left running without any kernel job (by an older version) are failed at startup (``recover``).

Bounded time: each job kind has a deadline (``SORTLINE_REGISTRY_IMPORT_TIMEOUT_S``); the passes
report progress once a batch, where the runner stops a job past its deadline (the write pass rolls
back: nothing written), and the job's worker slot is free at the deadline in any case. A process runs
``SORTLINE_REGISTRY_IMPORT_WORKERS`` jobs at once (two by default), and the jobs name the uploading
user as their owner: the runner never starts a second job of a user who has one running while other
users' jobs wait, so one slow import does not hold up every other user's. On SQLite a write pass
(one transaction holding the write lock) runs alone.

The upload lives in the file storage (``Settings.storage_url``; the job's ``file_path`` holds its
key), so any replica can validate or write a job another one received. Each pass copies it to a
temporary local file (the readers need a seekable file), removed when the pass ends; the stored
upload is deleted once the job is ``done`` and kept otherwise (a later confirm, the error report).

Memory stays flat whatever the file size: rows are streamed in batches of ``BATCH``; errors go to
``import_row_error`` as found (at most ``stored_errors``, all counted); the write pass re-reads and
re-checks the file and inserts batch by batch (records, history, events via ``Outbox.emit_many``)
inside one transaction. Write progress is kept in the process (``Importer.live``, merged into
``GET /imports/{id}``) and, on PostgreSQL, also saved from a second connection.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.common import clock
from services.common.config import data_dir
from services.common.db import read_engine
from services.common.jobs import JobContext, JobRunner, JobTimeout, worker_gone
from services.common.s3_storage import S3Storage
from services.common.storage import FileStorage, make_storage
from services.common.tabular import ErrorEntry, Row, TabularError, open_table
from services.registry import numbering, stats
from services.registry import repository as registry_repository
from services.registry.bulk import repository
from services.registry.bulk.checks import TABLES, RowChecker
from services.registry.bulk.columns import SPECS, Spec
from services.registry.config import Settings
from services.registry.models import outbox

log = logging.getLogger(__name__)

BATCH = 1000
PROGRESS_EVERY = 2000
STALE_AFTER = timedelta(minutes=15)
INTERRUPTED = "服务重启，导入已中断，请重新上传"
TIMED_OUT = "导入超过时限（{minutes} 分钟）已停止，未写入任何数据；请把文件拆成几个较小的文件后重新上传"
FILE_COLUMN = "文件"
RUNNING = ("validating", "writing")
VALIDATE = "registry.import.validate"
WRITE = "registry.import.write"


class ImportSettings(BaseSettings):
    """``SORTLINE_REGISTRY_IMPORT_*``: limits of an upload, a job's time limit, how many jobs a process
    runs at once (``WORKERS``), and ``INLINE=1`` to run jobs in the request's background task instead
    of the runner's thread (tests, one-shot tools)."""

    model_config = SettingsConfigDict(env_prefix="SORTLINE_REGISTRY_IMPORT_", extra="ignore")

    inline: bool = False
    max_rows: int = 200_000
    max_bytes: int = 50 * 1024 * 1024
    stored_errors: int = 10_000
    timeout_s: float = 900.0
    workers: int = Field(default=2, ge=1, le=32)


def imports_dir() -> Path:
    """Scratch space of the worker: the temporary local copies of stored uploads."""
    path = data_dir() / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_storage(settings: Settings, options: ImportSettings) -> FileStorage:
    """The file storage ``settings.storage_url`` names; an S3 bucket is created if missing."""
    storage = make_storage(settings.file_storage_url(), max_size=options.max_bytes)
    if isinstance(storage, S3Storage):
        storage.ensure_bucket()
    return storage


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def new_job_id() -> str:
    return uuid.uuid4().hex


def dedupe_key(kind: str, import_id: str) -> str:
    """The kernel job of one pass of one import (at most one each)."""
    return f"{kind}:{import_id}"


class DataChanged(Exception):
    """The write pass found a row that no longer passes (the database changed after validation)."""

    def __init__(self, entry: ErrorEntry) -> None:
        self.entry = entry
        number, column, value, message = entry
        shown = f"“{value}”" if value else ""
        super().__init__(
            f"写入前复核发现数据已变化：第 {number} 行“{column}”{shown}：{message}。未写入任何数据，请修改后重新上传"
        )


def _batches(rows: Iterator[Row], size: int = BATCH) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _caller_county(job: dict[str, Any]) -> str | None:
    caller = job.get("caller") or {}
    return caller.get("county_code") if caller.get("role") == "county" else None


class Importer:
    """The two passes of an import, as job functions for the kernel's runner (``register``)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        options: ImportSettings | None = None,
        storage: FileStorage | None = None,
    ) -> None:
        self.engine = engine
        self.reader = read_engine(engine)
        self.settings = settings
        self.options = options or ImportSettings()
        self.storage = storage if storage is not None else open_storage(settings, self.options)
        self.live: dict[str, int] = {}

    def register(self, runner: JobRunner) -> None:
        timeout = self.options.timeout_s or None
        runner.register(VALIDATE, self.validate_job, timeout_s=timeout, on_failed=self.on_failed)
        # One transaction for the whole file: on SQLite nothing else could write meanwhile.
        runner.register(WRITE, self.write_job, timeout_s=timeout, on_failed=self.on_failed, solo=True)

    def validate_job(self, ctx: JobContext) -> None:
        self.validate(ctx.payload["import_id"], ctx)

    def write_job(self, ctx: JobContext) -> None:
        self.write(ctx.payload["import_id"], ctx)

    def _timed_out(self) -> str:
        return TIMED_OUT.format(minutes=f"{self.options.timeout_s / 60:g}")

    def on_failed(self, ctx: JobContext, error: str) -> None:
        """The kernel gave the job up (its worker died, or its time ran out): the import fails."""
        message = self._timed_out() if ctx.timed_out.is_set() else INTERRUPTED
        with self.engine.begin() as conn:
            repository.set_job(
                conn,
                ctx.payload["import_id"],
                only_if_status=RUNNING,
                status="failed",
                message=message,
                finished_at=clock.now(),
            )

    # --- the stored upload -----------------------------------------------------------------

    @contextmanager
    def local_copy(self, ref: str) -> Iterator[IO[bytes]]:
        """The stored upload as a temporary local file, removed when the block ends."""
        if os.path.isabs(ref):  # a job uploaded before files went to the storage: a local path
            with open(ref, "rb") as f:
                yield f
            return
        with tempfile.TemporaryFile(dir=imports_dir(), prefix="import-") as copy:
            for chunk in self.storage.iter_chunks(ref):
                copy.write(chunk)
            copy.flush()
            copy.seek(0)
            yield copy

    def discard(self, ref: str) -> None:
        """Delete the stored upload; a failure is logged, never the job's."""
        try:
            if os.path.isabs(ref):
                Path(ref).unlink(missing_ok=True)
            else:
                self.storage.delete(ref)
        except Exception:
            log.warning("could not delete the stored upload %s", ref, exc_info=True)

    # --- validation ------------------------------------------------------------------------

    def _take(self, job_id: str, status: str, ctx: JobContext) -> dict[str, Any] | None:
        """The job, marked as this worker's, if it is still ``status`` (None: nothing to do)."""
        with self.reader.connect() as conn:
            job = repository.load_job(conn, job_id)
        if job is None or job["status"] != status:
            return None
        with self.engine.begin() as conn:
            repository.set_job(conn, job_id, runner=ctx.worker_id)
        return job

    def validate(self, job_id: str, ctx: JobContext) -> None:
        job = self._take(job_id, "validating", ctx)
        if job is None:
            return
        spec = SPECS[job["kind"]]
        processed = errors = valid = stored = 0
        pending: list[dict[str, Any]] = []
        county_counts: dict[str, int] = {}
        failed_rows: set[int] = set()
        last_flush = 0

        def flush(**extra: Any) -> None:
            nonlocal pending
            with self.engine.begin() as conn:
                repository.add_errors(conn, pending)
                pending = []
                repository.set_job(
                    conn, job_id, processed_rows=processed, error_count=errors, valid_rows=valid, **extra
                )

        def add_error(entry: ErrorEntry) -> None:
            nonlocal errors, stored
            errors += 1
            if stored < self.options.stored_errors:
                stored += 1
                number, column, value, message = entry
                pending.append(
                    {"job_id": job_id, "row": number, "column": column[:64], "value": value, "message": message}
                )

        try:
            with (
                self.local_copy(job["file_path"]) as f,
                open_table(
                    f, job["filename"], spec.columns, max_rows=self.options.max_rows, max_bytes=self.options.max_bytes
                ) as table,
            ):
                with self.reader.connect() as conn:
                    checker = RowChecker(conn, spec, _caller_county(job))
                for batch in _batches(table.rows()):
                    with self.reader.connect() as conn:
                        checked = checker.check(conn, batch)
                    for c in checked:
                        for entry in c.errors:
                            add_error(entry)
                        if c.state is not None:
                            valid += 1
                            county = c.state["county_code"]
                            county_counts[county] = county_counts.get(county, 0) + 1
                        else:
                            failed_rows.add(c.row.number)
                    processed += len(batch)
                    ctx.progress(processed, job["total_rows"])
                    if processed - last_flush >= PROGRESS_EVERY:
                        last_flush = processed
                        flush()
        except JobTimeout:
            flush(status="failed", message=self._timed_out(), finished_at=clock.now())
            raise
        except TabularError as exc:
            add_error((processed + 2, FILE_COLUMN, None, exc.message))
            flush(status="invalid", message=f"文件无法继续读取：{exc.message}", finished_at=clock.now())
            return
        except Exception:
            log.exception("validating import %s failed", job_id)
            flush(status="failed", message="校验时发生内部错误，请重新上传或联系管理员", finished_at=clock.now())
            return
        if errors:
            message = (
                f"共 {processed:,} 行，发现 {errors:,} 处错误（涉及 {len(failed_rows):,} 行），未写入任何数据；"
                "请下载错误报告，修改后重新上传"
            )
            flush(status="invalid", message=message, total_rows=processed, finished_at=clock.now())
        else:
            message = f"共 {processed:,} 行，全部校验通过；确认后将登记 {valid:,} 个{spec.label}"
            flush(status="ready", message=message, total_rows=processed, county_counts=county_counts)

    # --- writing ---------------------------------------------------------------------------

    def write(self, job_id: str, ctx: JobContext) -> None:
        job = self._take(job_id, "writing", ctx)
        if job is None:
            return
        spec = SPECS[job["kind"]]
        self.live[job_id] = 0
        try:
            created, first, last = self._write(job, spec, ctx)
        except JobTimeout:
            self._fail(job_id, self._timed_out())
            raise
        except DataChanged as exc:
            self._fail(job_id, str(exc))
        except IntegrityError:
            log.info("import %s hit a unique index", job_id, exc_info=True)
            self._fail(
                job_id,
                "写入时发现重复数据（可能有人同时登记了相同的车牌号或县区系统编号）。未写入任何数据，请重新上传",
            )
        except TabularError as exc:
            self._fail(job_id, f"文件无法读取：{exc.message}。未写入任何数据，请重新上传")
        except Exception:
            log.exception("writing import %s failed", job_id)
            self._fail(job_id, "写入时发生内部错误，未写入任何数据；请重新上传或联系管理员")
        else:
            log.info("import %s wrote %s %s (%s … %s)", job_id, created, spec.plural, first, last)
            self.discard(job["file_path"])
        finally:
            self.live.pop(job_id, None)

    def _fail(self, job_id: str, message: str) -> None:
        with self.engine.begin() as conn:
            repository.set_job(conn, job_id, status="failed", message=message, finished_at=clock.now())

    def _write(self, job: dict[str, Any], spec: Spec, ctx: JobContext) -> tuple[int, str | None, str | None]:
        job_id = job["id"]
        table = TABLES[spec.name]
        caller = job.get("caller") or {}
        actor = (caller.get("sub", job["created_by"]), caller.get("name", ""))
        expected: dict[str, int] = {k: int(n) for k, n in (job.get("county_counts") or {}).items()}
        total = sum(expected.values())
        columns = [c.name for c in table.c if c.name != "id"]
        created = 0
        first: str | None = None
        last: str | None = None
        deltas: dict[stats.CountKey, int] = {}
        per_county: dict[str, int] = {}
        progress = self._progress_saver(job_id)
        with (
            self.local_copy(job["file_path"]) as f,
            open_table(
                f, job["filename"], spec.columns, max_rows=self.options.max_rows, max_bytes=self.options.max_bytes
            ) as tab,
            self.engine.begin() as conn,
        ):
            checker = RowChecker(conn, spec, _caller_county(job))
            next_seq = repository.reserve_blocks(conn, spec.name, expected)
            legacy = spec.name == "vehicle" and registry_repository.legacy_residual_numbers(conn)
            template = self.settings.code_template(spec.name, legacy_residual=legacy)
            now = clock.now()
            for batch in _batches(tab.rows()):
                checked = checker.check(conn, batch)
                records: list[dict[str, Any]] = []
                histories: list[dict[str, Any]] = []
                events: list[tuple[str, str, str, dict[str, Any]]] = []
                for c in checked:
                    if c.errors or c.state is None:
                        raise DataChanged(c.errors[0])
                    state = c.state
                    county = state["county_code"]
                    per_county[county] = per_county.get(county, 0) + 1
                    if county not in next_seq or per_county[county] > expected.get(county, 0):
                        raise DataChanged((c.row.number, spec.headers["county_code"], county, "与校验时的行数不一致"))
                    seq = next_seq[county]
                    next_seq[county] = seq + 1
                    code = numbering.render(
                        template,
                        county_code=county,
                        seq=seq,
                        kind=state.get("kind", spec.name),
                        category=state.get("category"),
                    )
                    values = {
                        **state,
                        "code": code,
                        "status": "active",
                        "created_at": now,
                        "updated_at": now,
                        "decommissioned_at": None,
                        "version": 1,
                    }
                    record = {name: values.get(name) for name in columns}
                    records.append(record)
                    # Serialised once (orjson, as the API's ``jsonable``) for history and event.
                    public = orjson.dumps(record)
                    row = registry_repository.history_row(spec.name, record, "created", actor, now)
                    histories.append({**row, "after_json": public.decode()})
                    data = {
                        "code": code,
                        "county_code": county,
                        "record": orjson.Fragment(public),
                        "import_job": job_id,
                    }
                    events.append((spec.name, "registered", code, data))
                    key = stats.key_of(spec.name, record)
                    deltas[key] = deltas.get(key, 0) + 1
                    first = first or code
                    last = code
                repository.insert_records(conn, table, records)
                repository.insert_history(conn, histories)
                outbox.emit_many(conn, events)
                created += len(records)
                self.live[job_id] = created
                ctx.progress(created, total)  # stops here once the job is past its deadline
                progress(created)
            if per_county != expected:
                raise DataChanged((0, FILE_COLUMN, None, "文件的有效行数与校验时不一致"))
            registry_repository.add_counts(conn, deltas)
            completed = {"job_id": job_id, "kind": spec.plural, "created_count": created, "first_code": first}
            outbox.emit_many(conn, [("import", "completed", job_id, completed)])
            # The count only: first…last would read as a range, but each county numbers on its own.
            message = f"已登记 {created:,} 个{spec.label}"
            repository.set_job(
                conn,
                job_id,
                status="done",
                processed_rows=created,
                created_count=created,
                first_code=first,
                last_code=last,
                message=message,
                finished_at=clock.now(),
            )
        return created, first, last

    def _progress_saver(self, job_id: str) -> Callable[[int], None]:
        """Saves write progress from a second connection where the database allows it (PostgreSQL:
        the write transaction does not lock the job row until it finishes)."""
        if self.engine.dialect.name != "postgresql":
            return lambda _n: None
        saved = [0]

        def save(n: int) -> None:
            if n - saved[0] < PROGRESS_EVERY:
                return
            saved[0] = n
            with self.engine.begin() as side:
                repository.set_job(side, job_id, processed_rows=n)

        return save


def recover(engine: Engine, now: datetime | None = None) -> int:
    """At startup: fail the imports left validating or writing with no kernel job to finish them
    (an older version's, or one whose job record is gone) whose process has stopped (this host:
    its process is dead; another host: no change for ``STALE_AFTER``). Returns how many."""
    now = now or clock.now()
    count = 0
    with engine.begin() as conn:
        rows = repository.running_jobs(conn, RUNNING)
        keys = [dedupe_key(k, r.id) for r in rows for k in (VALIDATE, WRITE)]
        pending = repository.pending_kernel_jobs(conn, keys)
        for row in rows:
            if dedupe_key(VALIDATE, row.id) in pending or dedupe_key(WRITE, row.id) in pending:
                continue  # the runner finishes or recovers it
            if worker_gone(row.runner, row.updated_at, now, STALE_AFTER):
                repository.set_job(conn, row.id, status="failed", message=INTERRUPTED, finished_at=now)
                count += 1
    if count:
        log.warning("marked %s interrupted import job(s) failed", count)
    return count
