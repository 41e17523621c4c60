"""Background jobs and schedules: one runner per service process, the state in the service's database.

    tables = job_tables(metadata)                   # `job` and `job_schedule`, as outbox_table() does
    runner = JobRunner(engine, tables, storage=None, worker_id=None, workers=2)
    runner.register("archive", fn, retries=0, timeout_s=None, on_failed=None)
    job_id = runner.enqueue(session, "archive", {"quarter": "2026Q4"}, dedupe_key=None, run_after=None,
                            owner="user:7")
    runner.every("reminders", fn, daily_at="08:30")   # or interval=timedelta(minutes=5)
    runner.run_pending() -> int                     # claim and run due jobs now (tests, inline mode)
    runner.tick() -> list[str]                      # run due schedules once across replicas
    runner.start(); runner.wake(); runner.stop()    # the background thread (app lifespan)
    runner.status(session, job_id) -> JobInfo

Jobs. ``enqueue`` inserts a ``queued`` row in the caller's transaction (nothing runs unless it commits).
A runner claims one due job at a time in a short transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL (several replicas never take the same row), ``BEGIN IMMEDIATE`` on SQLite (the engine begins
every write transaction that way, see ``db.py``), then marks it ``running`` with its worker id. While
the function runs, a small thread writes ``heartbeat_at`` (and progress) every ``heartbeat_s`` (on SQLite it gives up
at once when another transaction holds the write lock: a long write cannot block it, and it cannot block
the write). ``fn(ctx)`` returns the result JSON (or None); raising fails the attempt: a job registered
with ``retries=n`` is queued again after ``backoff * 2**(attempt-1)`` (capped at an hour) up to n times,
then ``failed`` with the error; ``on_failed(ctx, error)`` is called once when a job finally fails.

Bounded time: ``timeout_s`` is a job's deadline. Python cannot kill a thread, so it is cooperative:
once the deadline has passed the job is marked ``failed`` (never retried: the old attempt may still be
running) and ``ctx.progress()`` / ``ctx.heartbeat()`` / ``ctx.check()`` raise ``JobTimeout`` so the
function unwinds (a transaction it holds rolls back). Jobs that work in a loop call one of them per step.
A kind registered without ``timeout_s`` gets the runner's ``default_timeout_s`` (an hour): no job
runs unbounded. The worker slot is given back at the deadline even if the function has not unwound yet (each job runs
in its own thread), so one stuck job never holds a slot past its time limit.

Fairness. The background thread runs up to ``workers`` jobs at once (default 2, on SQLite too). A job
may name its ``owner`` (the caller who asked for it, e.g. ``user:7``): a job whose owner already has a
running job is not claimed, so one user's long import never makes another user's wait behind it while a
slot is free; jobs without an owner are claimed oldest first. On PostgreSQL the claims of all replicas
take turns (a transaction advisory lock), so the rule holds across replicas too. On SQLite a kind
registered ``solo=True`` (one long write transaction) runs alone: writers take turns there.

Crashes. A ``running`` job whose worker is gone is recovered by any runner (every poll and at the start
of ``run_pending``): queued again if it has attempts left, else failed. Gone means: on this host, its
process is dead (or it is this process and its runner no longer runs); on another host, its heartbeat
is older than ``stale_after``.

Schedules are data (``job_schedule``: name, cadence, next run); ``tick()`` runs each due slot once
across replicas, ``ScheduleContext.due_at`` names the slot: see ``services.common.schedules``.
The job context and crash detection live in ``services.common.job_context``.

All times come from ``services.common.clock.now()``, so tests set them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from services.common import clock, schedules
from services.common.db import read_engine
from services.common.job_context import LIVE_WORKERS, JobContext, JobInfo, JobTimeout, worker_gone
from services.common.job_tables import JOB_TABLE, SCHEDULE_TABLE, JobTables, job_tables
from services.common.schedules import Schedule, ScheduleContext, dialect_insert, parse_cadence
from services.common.storage import FileStorage

log = logging.getLogger(__name__)
__all__ = ["JOB_TABLE", "SCHEDULE_TABLE", "JobRunner", "JobTables", "job_tables"]

STATES = ("queued", "running", "done", "failed")
MAX_BACKOFF = timedelta(hours=1)
INTERRUPTED = "任务执行中断（执行进程已停止），且已无重试次数"
OWNER_KEY = "_owner"  # in the payload: who asked for the job (see Fairness); not shown to the function
DEFAULT_WORKERS = 2
DEFAULT_TIMEOUT_S = 3600.0
_CLAIM_LOCK = 0x5072_4A6F  # pg_advisory_xact_lock key of the claim transaction
TIMED_OUT = "任务超过时限 {seconds} 秒，已停止"


@dataclass
class _Kind:
    fn: Callable[[JobContext], dict[str, Any] | None]
    retries: int
    timeout_s: float | None
    backoff: timedelta
    on_failed: Callable[[JobContext, str], None] | None
    solo: bool = False


class JobRunner:
    """Runs one service's jobs and schedules (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        tables: JobTables,
        storage: FileStorage | None = None,
        worker_id: str | None = None,
        *,
        workers: int | None = None,
        poll_s: float = 1.0,
        heartbeat_s: float = 5.0,
        stale_after: timedelta = timedelta(minutes=5),
        default_timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.engine = engine
        self.reader = read_engine(engine)  # SQLite: reads begin deferred, never queue for the write lock
        self.job_t, self.schedule_t = tables
        self.storage = storage
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.is_pg = engine.dialect.name == "postgresql"
        # Two at least, on SQLite too: one slow job must not hold up every other job (SQLite writes
        # still take turns, but reading and checking files, the bulk of the work, runs in parallel).
        self.workers = max(workers or DEFAULT_WORKERS, 1)
        self.poll_s = poll_s
        self.heartbeat_s = heartbeat_s
        self.stale_after = stale_after
        self.default_timeout_s = default_timeout_s
        self.kinds: dict[str, _Kind] = {}
        self.schedules: dict[str, Schedule] = {}
        self.live: dict[str, tuple[int, int | None]] = {}  # job id -> progress, this process's jobs
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._slots: dict[str, Callable[[], None]] = {}  # job id -> gives its worker slot back (once)
        self._closed = False
        LIVE_WORKERS.add(self.worker_id)

    # --- registration --------------------------------------------------------------------------

    def register(
        self,
        kind: str,
        fn: Callable[[JobContext], dict[str, Any] | None],
        retries: int = 0,
        timeout_s: float | None = None,
        *,
        backoff: timedelta = timedelta(seconds=30),
        on_failed: Callable[[JobContext, str], None] | None = None,
        solo: bool = False,
    ) -> None:
        """``solo``: the job holds the write lock for long (one big transaction); on SQLite, where
        writers take turns, it runs alone (others would wait for the lock and time out)."""
        limit = timeout_s if timeout_s is not None else self.default_timeout_s
        self.kinds[kind] = _Kind(fn, retries, limit, backoff, on_failed, solo)

    def every(
        self,
        name: str,
        fn: Callable[[ScheduleContext], None],
        *,
        interval: timedelta | None = None,
        daily_at: str | None = None,
    ) -> None:
        self.schedules[name] = Schedule(fn, parse_cadence(interval, daily_at))

    # --- jobs ----------------------------------------------------------------------------------

    def enqueue(
        self,
        session: Session | Connection,
        kind: str,
        payload: Mapping[str, Any] | None = None,
        dedupe_key: str | None = None,
        run_after: datetime | None = None,
        owner: str | None = None,
    ) -> str:
        """Add a job in the caller's transaction; with ``dedupe_key``, the existing job's id if any.
        ``owner``: who asked for it; no two jobs of one owner run at once while others wait (Fairness)."""
        spec = self.kinds.get(kind)
        if spec is None:
            raise ValueError(f"unknown job kind {kind!r}")
        now = clock.now()
        job_id = uuid.uuid4().hex
        values = {
            "id": job_id,
            "kind": kind,
            "payload": dict(payload or {}) | ({OWNER_KEY: owner} if owner else {}),
            "state": "queued",
            "dedupe_key": dedupe_key,
            "attempts": 0,
            "max_attempts": spec.retries + 1,
            "run_after": run_after or now,
            "created_at": now,
            "progress_done": 0,
        }
        t = self.job_t
        if dedupe_key is None:
            # The values as parameters, not in the statement: one cached compiled insert instead of a
            # statement (and its cache key) built from every value each time (a photo's upload enqueues one).
            session.execute(t.insert(), values)
            return job_id
        stmt = dialect_insert(session)(t).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
        session.execute(stmt)
        found = session.execute(select(t.c.id).where(t.c.dedupe_key == dedupe_key)).scalar_one()
        return str(found)

    def status(self, session: Session | Connection, job_id: str) -> JobInfo | None:
        row = session.execute(select(self.job_t).where(self.job_t.c.id == job_id)).first()
        if row is None:
            return None
        done, total = row.progress_done, row.progress_total
        if row.state == "running" and job_id in self.live:
            done, total = self.live[job_id]

        def ts(v: datetime | None) -> datetime | None:
            return clock.as_utc(v) if v is not None else None

        return JobInfo(
            id=row.id,
            kind=row.kind,
            state=row.state,
            progress_done=done,
            progress_total=total,
            result=row.result,
            result_key=row.result_key,
            error=row.error,
            attempts=row.attempts,
            created_at=clock.as_utc(row.created_at),
            started_at=ts(row.started_at),
            finished_at=ts(row.finished_at),
        )

    def claim(self) -> JobContext | None:
        """Take the oldest due job of a registered kind whose owner has no running job, or None."""
        if not self.kinds:
            return None
        t = self.job_t.c
        now = clock.now()
        due = (t.state == "queued", t.run_after <= now, t.kind.in_(list(self.kinds)))
        with self.reader.connect() as conn:  # most polls find nothing: no write lock for them
            if conn.execute(select(t.id).where(*due).limit(1)).first() is None:
                return None
        owner = t.payload[OWNER_KEY].as_string()
        running = self.job_t.alias("running_job").c
        running_owner = running.payload[OWNER_KEY].as_string()
        busy_owners = select(running_owner).where(running.state == "running", running_owner.is_not(None))
        fair = [or_(owner.is_(None), owner.not_in(busy_owners))]
        solo = [kind for kind, spec in self.kinds.items() if spec.solo]
        if solo and not self.is_pg:  # SQLite: a solo job runs alone
            others = select(running.id).where(running.state == "running")
            fair.append(~others.where(running.kind.in_(solo)).exists())
            fair.append(or_(t.kind.not_in(solo), ~others.exists()))
        with self.engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE (db.py); PostgreSQL: row lock below
            if self.is_pg:  # claims take turns, so two replicas never start two jobs of one owner
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})
            row = conn.execute(
                select(self.job_t.c.id, t.kind, t.payload, t.attempts)
                .where(*due, *fair)
                .order_by(t.run_after, t.created_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            attempt = row.attempts + 1
            conn.execute(
                update(self.job_t)
                .where(t.id == row.id)
                .values(
                    state="running",
                    worker=self.worker_id,
                    attempts=attempt,
                    started_at=now,
                    heartbeat_at=now,
                    error=None,
                )
            )
        spec = self.kinds[row.kind]
        deadline = time.monotonic() + spec.timeout_s if spec.timeout_s else None
        with self._lock:
            self._running.add(row.id)
        payload = dict(row.payload or {})
        payload.pop(OWNER_KEY, None)
        return JobContext(
            row.id,
            row.kind,
            payload,
            attempt,
            self.worker_id,
            self.engine,
            self.storage,
            self,
            deadline,
        )

    def run_pending(self) -> int:
        """Recover, then claim and run due jobs in this thread until none is due; how many ran."""
        self.recover()
        count = 0
        while (ctx := self.claim()) is not None:
            self._execute(ctx)
            count += 1
        return count

    def _execute(self, ctx: JobContext) -> None:
        spec = self.kinds[ctx.kind]
        stop = threading.Event()
        beat = threading.Thread(target=self._beat_loop, args=(ctx, stop), daemon=True, name=f"job-beat-{ctx.job_id}")
        beat.start()
        try:
            result = spec.fn(ctx)
        except JobTimeout:
            self._timed_out(ctx)
        except Exception as exc:
            if ctx.timed_out.is_set():
                self._timed_out(ctx)
            else:
                log.warning("job %s (%s) attempt %s failed", ctx.job_id, ctx.kind, ctx.attempt, exc_info=True)
                self._failed_attempt(ctx, f"{type(exc).__name__}: {exc}")
        else:
            self._finish(ctx, "done", result=result)
        finally:
            stop.set()
            beat.join()
            with self._lock:
                self._running.discard(ctx.job_id)
                if self._closed and not self._running:
                    LIVE_WORKERS.discard(self.worker_id)
            self.live.pop(ctx.job_id, None)

    def _mine(self, ctx: JobContext) -> Any:
        t = self.job_t.c
        return (t.id == ctx.job_id) & (t.state == "running") & (t.worker == ctx.worker_id) & (t.attempts == ctx.attempt)

    def _finish(
        self, ctx: JobContext, state: str, *, result: Any = None, error: str | None = None, quiet: bool = False
    ) -> bool:
        """Record the end of the attempt (only if the row is still this attempt's). ``quiet``: from the
        heartbeat thread, giving up at once on a SQLite write lock the job itself may hold."""
        values: dict[str, Any] = {"state": state, "finished_at": clock.now(), "error": error}
        if state == "done":
            values["result"] = result
            if ctx.job_id in self.live:
                values["progress_done"], values["progress_total"] = self.live[ctx.job_id]
        stmt = update(self.job_t).where(self._mine(ctx)).values(**values)
        try:
            with self._short_wait() if quiet else self.engine.connect() as conn, conn.begin():
                changed = conn.execute(stmt).rowcount
        except OperationalError:
            if not quiet:
                raise
            return False  # the job thread records it when it unwinds
        if changed and state == "failed":
            self._call_on_failed(ctx, error or "")
        return bool(changed)

    def _failed_attempt(self, ctx: JobContext, error: str) -> None:
        spec = self.kinds[ctx.kind]
        if ctx.attempt <= spec.retries:
            delay = min(spec.backoff * (2 ** (ctx.attempt - 1)), MAX_BACKOFF)
            with self.engine.begin() as conn:
                conn.execute(
                    update(self.job_t)
                    .where(self._mine(ctx))
                    .values(state="queued", worker=None, run_after=clock.now() + delay, error=error)
                )
            return
        self._finish(ctx, "failed", error=error)

    def _timed_out(self, ctx: JobContext, *, quiet: bool = False) -> None:
        seconds = self.kinds[ctx.kind].timeout_s
        self._finish(ctx, "failed", error=TIMED_OUT.format(seconds=f"{seconds:g}" if seconds else "?"), quiet=quiet)

    def _call_on_failed(self, ctx: JobContext, error: str) -> None:
        hook = self.kinds[ctx.kind].on_failed if ctx.kind in self.kinds else None
        if hook is None:
            return
        try:
            hook(ctx, error)
        except Exception:
            log.exception("on_failed of job %s (%s) raised", ctx.job_id, ctx.kind)

    # --- heartbeat, progress, recovery ---------------------------------------------------------

    @contextmanager
    def _short_wait(self) -> Iterator[Connection]:
        """A connection whose write gives up at once (50 ms) on a SQLite write lock."""
        with self.engine.connect() as conn:
            if conn.dialect.name != "sqlite":
                yield conn
                return
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("PRAGMA busy_timeout=50")
            try:
                yield conn
            finally:
                raw.execute("PRAGMA busy_timeout=30000")

    def _write_quietly(self, **values: Any) -> None:
        job_id, worker = values.pop("_job_id"), values.pop("_worker")
        t = self.job_t.c
        try:
            with self._short_wait() as conn, conn.begin():
                conn.execute(
                    update(self.job_t).where(t.id == job_id, t.state == "running", t.worker == worker).values(**values)
                )
        except OperationalError:  # SQLite busy: the job itself holds the write lock; next time
            log.debug("heartbeat of job %s skipped: database busy", job_id)

    def _beat(self, job_id: str, worker: str) -> None:
        values: dict[str, Any] = {"heartbeat_at": clock.now()}
        if job_id in self.live:
            values["progress_done"], values["progress_total"] = self.live[job_id]
        self._write_quietly(_job_id=job_id, _worker=worker, **values)

    def _beat_loop(self, ctx: JobContext, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_s if ctx.deadline is None else min(self.heartbeat_s, 1.0)):
            if ctx.deadline is not None and time.monotonic() > ctx.deadline and not ctx.timed_out.is_set():
                ctx.timed_out.set()  # the job unwinds at its next check; the row says failed now
                self._timed_out(ctx, quiet=True)
                self._free_slot(ctx.job_id)  # and its worker slot goes to the next job at once
                continue
            if not ctx.timed_out.is_set():
                self._beat(ctx.job_id, ctx.worker_id)

    def _progress(self, ctx: JobContext, done: int, total: int | None) -> None:
        # In memory only: the heartbeat thread writes it (a write from the job's own thread would wait
        # for the SQLite lock that the job itself may hold).
        self.live[ctx.job_id] = (done, total)

    def recover(self) -> int:
        """Queue again (or fail) the running jobs whose worker is gone; how many."""
        t = self.job_t.c
        now = clock.now()
        with self.reader.connect() as conn:
            rows = conn.execute(
                select(t.id, t.kind, t.payload, t.worker, t.heartbeat_at, t.attempts, t.max_attempts).where(
                    t.state == "running"
                )
            ).all()
        count = 0
        for row in rows:
            if not worker_gone(row.worker, row.heartbeat_at, now, self.stale_after):
                continue
            payload = {k: val for k, val in (row.payload or {}).items() if k != OWNER_KEY}
            ctx = JobContext(row.id, row.kind, payload, row.attempts, row.worker, self.engine, self.storage, self)
            if row.attempts < row.max_attempts:
                spec = self.kinds.get(row.kind)
                backoff = spec.backoff if spec else timedelta(seconds=30)
                delay = min(backoff * (2 ** max(row.attempts - 1, 0)), MAX_BACKOFF)
                values: dict[str, Any] = {
                    "state": "queued",
                    "worker": None,
                    "run_after": now + delay,
                    "error": "执行进程已停止，稍后重试",
                }
            else:
                values = {"state": "failed", "finished_at": now, "error": INTERRUPTED}
            with self.engine.begin() as conn:
                changed = conn.execute(update(self.job_t).where(self._mine(ctx)).values(**values)).rowcount
            if changed:
                count += 1
                log.warning("recovered job %s (%s) of %s: %s", row.id, row.kind, row.worker, values["state"])
                if values["state"] == "failed":
                    self._call_on_failed(ctx, INTERRUPTED)
        return count

    def tick(self) -> list[str]:
        """Run every due schedule whose slot this runner wins; the names it ran."""
        return schedules.tick(self)

    # --- the background thread -----------------------------------------------------------------

    def start(self) -> None:
        """Start the background thread (idempotent): recover, tick, run jobs, every ``poll_s``."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._closed = False
            LIVE_WORKERS.add(self.worker_id)
            self._thread = threading.Thread(target=self._loop, daemon=True, name=f"jobs-loop-{self.worker_id}")
            self._thread.start()

    def wake(self) -> None:
        """Look for work now (after a commit that enqueued a job)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming; running jobs finish in their threads (a crash would be recovered)."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is not None:
            thread.join(timeout)

    def close(self) -> None:
        """Stop, and forget this runner as a live worker of the process once its last job ended
        (until then another runner of this process must not take its jobs for orphans)."""
        self._closed = True
        self.stop()
        with self._lock:
            if not self._running:
                LIVE_WORKERS.discard(self.worker_id)

    def _loop(self) -> None:
        busy = threading.Semaphore(self.workers)
        failures = 0
        while not self._stop.is_set():
            try:
                self.recover()
                self.tick()
                while not self._stop.is_set() and busy.acquire(blocking=False):
                    try:
                        ctx = self.claim()
                    except BaseException:  # the slot is not lost with the database
                        busy.release()
                        raise
                    if ctx is None:
                        busy.release()
                        break
                    if self._stop.is_set():  # stopped between the poll and the claim: give it back
                        busy.release()
                        self._unclaim(ctx)
                        break
                    self._slots[ctx.job_id] = self._releaser(busy)
                    # A thread per job (not a pool): a job past its deadline that has not unwound yet
                    # keeps its thread, but its slot is free for the next job.
                    threading.Thread(
                        target=self._run_and_release, args=(ctx,), daemon=True, name=f"job-{ctx.job_id}"
                    ).start()
                failures = 0
            except Exception:  # the database is away: say so once, then back off (up to a minute)
                failures += 1
                log.warning(
                    "job runner %s: poll failed (%s in a row)", self.worker_id, failures, exc_info=failures == 1
                )
            self._wake.wait(min(self.poll_s * 2 ** min(failures, 6), 60.0))
            self._wake.clear()

    def _unclaim(self, ctx: JobContext) -> None:
        with self._lock:
            self._running.discard(ctx.job_id)
        with self.engine.begin() as conn:
            conn.execute(
                update(self.job_t).where(self._mine(ctx)).values(state="queued", worker=None, attempts=ctx.attempt - 1)
            )

    def _releaser(self, busy: threading.Semaphore) -> Callable[[], None]:
        given_back = threading.Event()
        lock = threading.Lock()

        def release() -> None:
            with lock:
                if given_back.is_set():
                    return
                given_back.set()
            busy.release()
            self._wake.set()  # a slot is free: look again

        return release

    def _free_slot(self, job_id: str) -> None:
        release = self._slots.pop(job_id, None)
        if release is not None:
            release()

    def _run_and_release(self, ctx: JobContext) -> None:
        try:
            self._execute(ctx)
        finally:
            self._free_slot(ctx.job_id)
