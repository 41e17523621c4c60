"""Import jobs: the stored upload, the validation pass, the write pass, crash recovery.

Life of a job: ``validating`` (the worker reads the whole file and checks every row, storing
errors as found) → ``invalid`` (errors, or a file that turned out unreadable) or ``ready`` →
confirm → ``writing`` → ``done`` or ``failed``. A job left ``validating`` / ``writing`` by a process
that died is marked ``failed`` when the next process starts (``recover``).

The upload lives in the file storage (``Settings.storage_url``; the job's ``file_path`` holds its
key), so any replica can validate or write a job another one received. Each pass copies it to a
temporary local file (the readers need a seekable file), removed when the pass ends; the stored
upload is deleted once the job is ``done`` and kept otherwise (a later confirm, the error report).

Memory stays flat whatever the file size: rows are streamed from the stored file in batches of
``BATCH``; errors go to ``import_row_error`` as found (at most ``stored_errors``, all counted); the
write pass re-reads and re-checks the file and inserts batch by batch inside one transaction.
Only the duplicate finders keep one integer per external id / plate seen.

Progress (``processed_rows``) is saved every ``PROGRESS_EVERY`` rows during validation. While
writing, the one write transaction holds SQLite's write lock, so progress is kept in the process
(``Runner.live``, merged into ``GET /imports/{id}``) and, on PostgreSQL, also saved from a second
connection.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import JSON, Text, bindparam, cast, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.common import clock
from services.common.config import data_dir
from services.common.db import read_engine
from services.common.storage import FileStorage, S3Storage, make_storage
from services.common.tabular import ErrorEntry, Row, TabularError, open_table
from services.registry import numbering, repository, stats
from services.registry.bulk.checks import TABLES, RowChecker
from services.registry.bulk.columns import SPECS, Spec
from services.registry.config import Settings
from services.registry.models import counter_t, history_t, import_error_t, import_job_t, outbox

log = logging.getLogger(__name__)

BATCH = 1000
PROGRESS_EVERY = 2000
STALE_AFTER = timedelta(minutes=15)
INTERRUPTED = "服务重启，导入已中断，请重新上传"
FILE_COLUMN = "文件"
RUNNING = ("validating", "writing")
# The same number the outbox uses: bulk event inserts serialise with single emits on PostgreSQL.
_PG_OUTBOX_LOCK = 0x50_52_54_4C


class ImportSettings(BaseSettings):
    """``SORTLINE_REGISTRY_IMPORT_*``: limits of an upload, and ``INLINE=1`` to run jobs in the
    request's background task instead of the worker thread (tests, one-shot tools)."""

    model_config = SettingsConfigDict(env_prefix="SORTLINE_REGISTRY_IMPORT_", extra="ignore")

    inline: bool = False
    max_rows: int = 200_000
    max_bytes: int = 50 * 1024 * 1024
    stored_errors: int = 10_000


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


def load_job(conn: Connection | Session, job_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(import_job_t).where(import_job_t.c.id == job_id)).first()
    return dict(row._mapping) if row is not None else None


def _set(conn: Connection, job_id: str, **values: Any) -> None:
    values.setdefault("updated_at", clock.now())
    conn.execute(update(import_job_t).where(import_job_t.c.id == job_id).values(**values))


class Runner:
    """Runs a process's import jobs one at a time on one worker thread (or inline)."""

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
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    # --- scheduling ------------------------------------------------------------------------

    def submit(self, fn: Callable[[str], None], job_id: str) -> None:
        if self.options.inline:
            fn(job_id)
            return
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="registry-import")
            self._executor.submit(self._guarded, fn, job_id)

    def _guarded(self, fn: Callable[[str], None], job_id: str) -> None:
        try:
            fn(job_id)
        except Exception:  # the job functions record their own failures; this is the last net
            log.exception("import job %s crashed", job_id)

    def shutdown(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None

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

    def validate(self, job_id: str) -> None:
        with self.reader.connect() as conn:
            job = load_job(conn, job_id)
        if job is None or job["status"] != "validating":
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
                if pending:
                    conn.execute(insert(import_error_t), pending)
                    pending = []
                _set(conn, job_id, processed_rows=processed, error_count=errors, valid_rows=valid, **extra)

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
                    if processed - last_flush >= PROGRESS_EVERY:
                        last_flush = processed
                        flush()
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

    def write(self, job_id: str) -> None:
        with self.reader.connect() as conn:
            job = load_job(conn, job_id)
        if job is None or job["status"] != "writing":
            return
        spec = SPECS[job["kind"]]
        self.live[job_id] = 0
        try:
            created, first, last = self._write(job, spec)
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
            _set(conn, job_id, status="failed", message=message, finished_at=clock.now())

    def _write(self, job: dict[str, Any], spec: Spec) -> tuple[int, str | None, str | None]:
        job_id = job["id"]
        table = TABLES[spec.name]
        template = self.settings.code_template(spec.name)
        caller = job.get("caller") or {}
        actor_sub, actor_name = caller.get("sub", job["created_by"]), caller.get("name", "")
        expected: dict[str, int] = {k: int(n) for k, n in (job.get("county_counts") or {}).items()}
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
            is_pg = conn.dialect.name == "postgresql"
            if is_pg:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_OUTBOX_LOCK})
            checker = RowChecker(conn, spec, _caller_county(job))
            next_seq = reserve_blocks(conn, spec.name, expected)
            history_insert = insert(history_t).values(after=_json_param("after_json", is_pg))
            event_insert = insert(outbox.table).values(data=_json_param("data_json", is_pg))
            now = clock.now()
            for batch in _batches(tab.rows()):
                checked = checker.check(conn, batch)
                records: list[dict[str, Any]] = []
                histories: list[dict[str, Any]] = []
                events: list[dict[str, Any]] = []
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
                    public = orjson.dumps(record).decode()
                    histories.append(
                        {
                            "kind": spec.name,
                            "code": code,
                            "county_code": county,
                            "action": "created",
                            "actor_sub": actor_sub,
                            "actor_name": actor_name,
                            "at": now,
                            "after_json": public,
                        }
                    )
                    events.append(
                        {
                            "id": str(uuid.uuid4()),
                            "source": outbox.source,
                            "type": f"sortline.{outbox.service}.{spec.name}.registered",
                            "subject": code,
                            "time": now,
                            "data_json": f'{{"code":"{code}","county_code":"{county}","record":{public},'
                            f'"import_job":"{job_id}"}}',
                        }
                    )
                    key = stats.key_of(spec.name, record)
                    deltas[key] = deltas.get(key, 0) + 1
                    first = first or code
                    last = code
                conn.execute(insert(table), records)
                conn.execute(history_insert, histories)
                conn.execute(event_insert, events)
                created += len(records)
                self.live[job_id] = created
                progress(created)
            if per_county != expected:
                raise DataChanged((0, FILE_COLUMN, None, "文件的有效行数与校验时不一致"))
            repository.add_counts(conn, deltas)
            conn.execute(
                insert(outbox.table).values(
                    id=str(uuid.uuid4()),
                    source=outbox.source,
                    type=f"sortline.{outbox.service}.import.completed",
                    subject=job_id,
                    time=now,
                    data={"job_id": job_id, "kind": spec.plural, "created_count": created, "first_code": first},
                )
            )
            message = f"已登记 {created:,} 个{spec.label}" + (f"，统一编号 {first} 至 {last}" if first else "")
            _set(
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
                _set(side, job_id, processed_rows=n)

        return save


def _json_param(name: str, is_pg: bool) -> Any:
    """A JSON column's value handed over as the JSON text already made (SQLite stores JSON as text;
    PostgreSQL casts the text)."""
    param = bindparam(name, type_=Text())
    return cast(param, JSON) if is_pg else param


def reserve_blocks(conn: Connection, kind: str, counts: dict[str, int]) -> dict[str, int]:
    """The first number of a block of ``n`` numbers for each county: one counter UPDATE each."""
    first: dict[str, int] = {}
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    for county in sorted(counts):
        n = counts[county]
        if n <= 0:
            continue
        conn.execute(
            dialect_insert(counter_t).values(county_code=county, kind=kind, next_value=1).on_conflict_do_nothing()
        )
        stmt = (
            update(counter_t)
            .where(counter_t.c.county_code == county, counter_t.c.kind == kind)
            .values(next_value=counter_t.c.next_value + n)
            .returning(counter_t.c.next_value)
        )
        after = int(conn.execute(stmt).scalar_one())
        first[county] = after - n
    return first


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(engine: Engine, now: datetime | None = None) -> int:
    """At startup: mark ``failed`` the jobs a dead process left validating or writing. A job of
    this host is dead when its process is gone (or is this process, which has just started); a
    job of another host when it has not moved for ``STALE_AFTER``. Returns how many."""
    now = now or clock.now()
    host, me = socket.gethostname(), os.getpid()
    t = import_job_t.c
    count = 0
    with engine.begin() as conn:
        rows = conn.execute(select(t.id, t.runner, t.updated_at).where(t.status.in_(RUNNING))).all()
        for job_id, runner, updated_at in rows:
            runner_host, _, pid_text = (runner or "").rpartition(":")
            pid = int(pid_text) if pid_text.isdigit() else -1
            if runner_host == host:
                dead = pid == me or pid <= 0 or not _alive(pid)
            else:
                dead = clock.as_utc(updated_at) < now - STALE_AFTER
            if dead:
                _set(conn, job_id, status="failed", message=INTERRUPTED, finished_at=now)
                count += 1
    if count:
        log.warning("marked %s interrupted import job(s) failed", count)
    return count
