"""The kernel's job runner and schedules, on SQLite and (with SORTLINE_TEST_DATABASE_URL) PostgreSQL:
enqueue in the caller's transaction, several runners never run one job twice, crashed jobs recovered,
retries with back-off, bounded time, progress and result files, schedules run once per slot."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common import clock
from services.common.db import session_scope
from services.common.jobs import OWNER_KEY, JobContext, JobRunner, ScheduleContext
from services.common.schedules import next_slot
from services.common.storage import LocalStorage
from services.supervision.models import jobs as tables

job_t = tables.job


@pytest.fixture
def engine(make_db: Callable[[str], Engine]) -> Engine:
    return make_db("supervision")


def runner_for(engine: Engine, **kw: Any) -> JobRunner:
    runner = JobRunner(engine, tables, **kw)
    return runner


def states(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {r.id: r.state for r in conn.execute(select(job_t.c.id, job_t.c.state))}


def test_enqueue_joins_the_callers_transaction_and_dedupes(engine: Engine) -> None:
    runner = runner_for(engine)
    seen: list[dict[str, Any]] = []

    def echo(ctx: JobContext) -> dict[str, Any]:
        seen.append(ctx.payload)
        return {"echo": ctx.payload["n"]}

    runner.register("echo", echo)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        runner.enqueue(session, "echo", {"n": 0})
        raise RuntimeError("the caller's write failed")
    assert states(engine) == {}  # rolled back with the caller
    with session_scope(engine) as session:
        first = runner.enqueue(session, "echo", {"n": 1}, dedupe_key="once")
        again = runner.enqueue(session, "echo", {"n": 2}, dedupe_key="once")
    assert first == again and len(states(engine)) == 1
    assert runner.run_pending() == 1 and runner.run_pending() == 0
    assert seen == [{"n": 1}]
    with Session(engine) as session:
        info = runner.status(session, first)
    assert info is not None and info.state == "done" and info.result == {"echo": 1} and info.attempts == 1
    with pytest.raises(ValueError), Session(engine) as session:
        runner.enqueue(session, "nobody-runs-this", {})


def test_run_after_waits_for_the_clock(engine: Engine) -> None:
    clock.set_now(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    runner = runner_for(engine)
    runner.register("later", lambda ctx: None)
    with session_scope(engine) as session:
        runner.enqueue(session, "later", {}, run_after=clock.now() + timedelta(minutes=10))
    assert runner.run_pending() == 0
    clock.advance(timedelta(minutes=10))
    assert runner.run_pending() == 1


def test_two_runners_run_each_of_200_jobs_exactly_once(engine: Engine) -> None:
    n = 200 if engine.dialect.name == "postgresql" else 60
    ran: Counter[int] = Counter()
    by_worker: Counter[str] = Counter()
    lock = threading.Lock()

    def work(ctx: JobContext) -> dict[str, Any]:
        time.sleep(0.002)  # long enough for the two runners to overlap
        with lock:
            ran[ctx.payload["n"]] += 1
            by_worker[ctx.worker_id] += 1
        return {"n": ctx.payload["n"]}

    runners = [runner_for(engine, worker_id=f"replica-{i}") for i in range(2)]
    for r in runners:
        r.register("count", work)
    with session_scope(engine) as session:
        for i in range(n):
            runners[0].enqueue(session, "count", {"n": i})
    start = threading.Barrier(2)
    totals: list[int] = []

    def drain(r: JobRunner) -> None:
        start.wait()
        totals.append(r.run_pending())

    threads = [threading.Thread(target=drain, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sum(totals) == n
    assert sorted(ran) == list(range(n)) and set(ran.values()) == {1}
    assert set(states(engine).values()) == {"done"}
    assert len(by_worker) == 2, by_worker  # both replicas took jobs
    with engine.connect() as conn:
        workers = Counter(r.worker for r in conn.execute(select(job_t.c.worker)))
    assert workers == by_worker


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def _running(job_id: str, worker: str, heartbeat: datetime, attempts: int = 1, max_attempts: int = 2) -> dict[str, Any]:
    now = clock.now()
    return {"id": job_id, "kind": "resume", "payload": {"id": job_id}, "state": "running", "attempts": attempts,
            "max_attempts": max_attempts, "run_after": now, "created_at": now, "started_at": heartbeat,
            "heartbeat_at": heartbeat, "worker": worker, "progress_done": 0}  # fmt: skip


def test_a_crashed_job_is_recovered_and_runs_again(engine: Engine) -> None:
    clock.set_now(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    now = clock.now()
    host = socket.gethostname()
    with engine.begin() as conn:
        conn.execute(
            insert(job_t),
            [
                _running("stale-elsewhere", "other-host:1:a", now - timedelta(minutes=10)),
                _running("dead-here", f"{host}:{_dead_pid()}:b", now),  # fresh heartbeat, but its process died
                _running("fresh-elsewhere", "other-host:1:c", now - timedelta(seconds=30)),
                _running("alive-here", f"{host}:{os.getppid()}:d", now - timedelta(hours=1)),
                _running("out-of-tries", "other-host:1:e", now - timedelta(hours=1), attempts=2),
            ],
        )
    failed: list[tuple[str, str]] = []
    ran: list[str] = []
    runner = runner_for(engine, stale_after=timedelta(minutes=5))

    def resume(ctx: JobContext) -> None:
        ran.append(ctx.job_id)

    def gave_up(ctx: JobContext, error: str) -> None:
        failed.append((ctx.job_id, error))

    runner.register("resume", resume, retries=1, on_failed=gave_up)
    assert runner.recover() == 3
    assert states(engine) == {"stale-elsewhere": "queued", "dead-here": "queued", "fresh-elsewhere": "running",
                              "alive-here": "running", "out-of-tries": "failed"}  # fmt: skip
    assert [f[0] for f in failed] == ["out-of-tries"] and "中断" in failed[0][1]
    assert runner.run_pending() == 0  # back-off before the retry
    clock.advance(timedelta(seconds=31))
    assert runner.run_pending() == 2 and sorted(ran) == ["dead-here", "stale-elsewhere"]
    with engine.connect() as conn:
        attempts = {r.id: r.attempts for r in conn.execute(select(job_t.c.id, job_t.c.attempts))}
    assert attempts["stale-elsewhere"] == 2
    assert runner.recover() == 0  # a second pass changes nothing


def test_a_job_of_a_runner_of_this_process_that_is_gone_is_taken_over(engine: Engine) -> None:
    first = runner_for(engine)
    first.register("resume", lambda ctx: None, retries=1)
    with session_scope(engine) as session:
        job_id = first.enqueue(session, "resume", {})
    ctx = first.claim()  # claimed; the runner is closed while the job still runs
    assert ctx is not None
    first.close()
    other = runner_for(engine)
    other.register("resume", lambda ctx: None, retries=1, backoff=timedelta(0))
    assert other.run_pending() == 0  # still running in this process: not an orphan
    # A runner of this pid that no longer exists (a stopped app, a reused pid) leaves an orphan.
    with engine.begin() as conn:
        conn.execute(update(job_t).values(worker=f"{socket.gethostname()}:{os.getpid()}:gone"))
    assert other.run_pending() == 1
    assert states(engine) == {job_id: "done"}


def test_retries_back_off_exponentially_then_fail(engine: Engine) -> None:
    clock.set_now(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    calls: list[datetime] = []
    failed: list[str] = []

    def flaky(ctx: JobContext) -> dict[str, Any]:
        calls.append(clock.now())
        if ctx.payload["succeed_on"] != len(calls):
            raise ConnectionError(f"attempt {len(calls)} failed")
        return {"attempt": ctx.attempt}

    runner = runner_for(engine)
    runner.register("flaky", flaky, retries=2, backoff=timedelta(seconds=30), on_failed=lambda c, e: failed.append(e))
    with session_scope(engine) as session:
        job_id = runner.enqueue(session, "flaky", {"succeed_on": 3})
    assert runner.run_pending() == 1
    with Session(engine) as session:
        info = runner.status(session, job_id)
    assert info is not None and info.state == "queued" and "attempt 1 failed" in (info.error or "")
    clock.advance(timedelta(seconds=29))
    assert runner.run_pending() == 0
    clock.advance(timedelta(seconds=1))
    assert runner.run_pending() == 1  # second attempt, fails: next wait is 60 s
    clock.advance(timedelta(seconds=59))
    assert runner.run_pending() == 0
    clock.advance(timedelta(seconds=1))
    assert runner.run_pending() == 1
    with Session(engine) as session:
        info = runner.status(session, job_id)
    assert info is not None and info.state == "done" and info.result == {"attempt": 3} and info.error is None
    assert [int((c - calls[0]).total_seconds()) for c in calls] == [0, 30, 90]
    assert failed == []

    calls.clear()
    with session_scope(engine) as session:
        job_id = runner.enqueue(session, "flaky", {"succeed_on": 99})
    for _ in range(3):
        runner.run_pending()
        clock.advance(timedelta(minutes=5))
    with Session(engine) as session:
        info = runner.status(session, job_id)
    assert (
        info is not None and info.state == "failed" and info.attempts == 3 and "attempt 3 failed" in (info.error or "")
    )
    assert len(calls) == 3 and len(failed) == 1


def test_a_job_without_retries_fails_at_once(engine: Engine) -> None:
    runner = runner_for(engine)

    def broken(ctx: JobContext) -> None:
        raise ZeroDivisionError

    runner.register("once", broken)
    with session_scope(engine) as session:
        job_id = runner.enqueue(session, "once", {})
    assert runner.run_pending() == 1
    assert states(engine) == {job_id: "failed"}


def test_a_job_over_its_time_limit_is_stopped_and_failed(engine: Engine) -> None:
    runner = runner_for(engine, heartbeat_s=0.05)
    steps: list[int] = []

    def endless(ctx: JobContext) -> None:
        for i in range(10_000):
            steps.append(i)
            ctx.progress(i, None)
            time.sleep(0.01)

    runner.register("endless", endless, retries=3, timeout_s=0.3)
    with session_scope(engine) as session:
        job_id = runner.enqueue(session, "endless", {})
    started = time.monotonic()
    assert runner.run_pending() == 1
    assert time.monotonic() - started < 3
    with Session(engine) as session:
        info = runner.status(session, job_id)
    assert info is not None and info.state == "failed" and "时限" in (info.error or "")
    assert info.attempts == 1  # a timeout is never retried
    assert 5 < len(steps) < 200


def test_a_timed_out_job_holding_the_write_lock_rolls_back_promptly(engine: Engine) -> None:
    runner = runner_for(engine, heartbeat_s=0.05)
    schedule_t = tables.schedule

    def writer(ctx: JobContext) -> None:
        with engine.begin() as conn:  # SQLite: the write lock, held until the job unwinds
            conn.execute(insert(schedule_t).values(name="half-done", cadence="interval:60", next_run_at=clock.now()))
            while True:
                ctx.progress(1, None)
                time.sleep(0.01)

    runner.register("writer", writer, timeout_s=0.3)
    with session_scope(engine) as session:
        job_id = runner.enqueue(session, "writer", {})
    started = time.monotonic()
    assert runner.run_pending() == 1
    assert time.monotonic() - started < 5  # not the 30 s of SQLite's busy timeout
    assert states(engine) == {job_id: "failed"}
    with engine.connect() as conn:
        assert conn.execute(select(schedule_t.c.name)).all() == []  # rolled back


def test_progress_result_and_result_file(engine: Engine, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    runner = runner_for(engine, storage=storage)
    seen_running: list[tuple[int, int | None]] = []

    def export(ctx: JobContext) -> dict[str, Any]:
        for i in range(1, 4):
            ctx.progress(i, 3)
        with Session(engine) as session:
            info = runner.status(session, ctx.job_id)
            assert info is not None
            seen_running.append((info.progress_done, info.progress_total))
        key = ctx.save_result_file(iter([b"code,name\n", "F1,桶\n".encode()]), "导出.csv", "text/csv")
        return {"rows": 1, "key": key}

    runner.register("export", export)
    with session_scope(engine) as session:
        job_id = runner.enqueue(session, "export", {})
    runner.run_pending()
    with Session(engine) as session:
        info = runner.status(session, job_id)
    assert info is not None and info.state == "done"
    assert seen_running == [(3, 3)] and (info.progress_done, info.progress_total) == (3, 3)
    assert info.result_key and info.result == {"rows": 1, "key": info.result_key}
    assert storage.open(info.result_key).decode() == "code,name\nF1,桶\n"


def test_the_background_thread_runs_what_is_enqueued(engine: Engine) -> None:
    runner = runner_for(engine, poll_s=0.05)
    done = threading.Event()

    def ping(ctx: JobContext) -> None:
        done.set()

    runner.register("ping", ping)
    runner.start()
    try:
        with session_scope(engine) as session:
            runner.enqueue(session, "ping", {})
        runner.wake()
        assert done.wait(10)
    finally:
        runner.close()


# --- schedules ---------------------------------------------------------------------------------


def test_next_slot_of_a_daily_cadence_is_in_shanghai_time() -> None:
    utc_0029 = datetime(2026, 12, 2, 0, 29, tzinfo=UTC)  # 08:29 in Nanchang
    assert next_slot("daily:08:30", utc_0029) == datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
    assert next_slot("daily:08:30", utc_0029 + timedelta(minutes=1)) == datetime(2026, 12, 3, 0, 30, tzinfo=UTC)
    # missed slots: the next one after now, keeping the interval's phase
    slot = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    assert next_slot("interval:300", slot + timedelta(minutes=12), previous=slot) == slot + timedelta(minutes=15)


def test_two_runners_ticking_together_run_a_daily_schedule_once_a_day(engine: Engine) -> None:
    clock.set_now(datetime(2026, 12, 1, 20, 0, tzinfo=UTC))  # 04:00 in Nanchang
    runs: list[tuple[str, datetime]] = []
    lock = threading.Lock()

    def remind(ctx: ScheduleContext) -> None:
        time.sleep(0.01)
        with lock:
            runs.append((ctx.runner.worker_id, ctx.due_at))

    runners = [runner_for(engine, worker_id=f"replica-{i}") for i in range(2)]
    for r in runners:
        r.every("reminders", remind, daily_at="08:30")
        r.every("sweep", lambda ctx: None, interval=timedelta(hours=6))
    for _hour in range(4 * 24):  # four days, both replicas wake together every hour
        barrier = threading.Barrier(2)

        def wake(r: JobRunner, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            r.tick()

        threads = [threading.Thread(target=wake, args=(r,)) for r in runners]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        clock.advance(timedelta(hours=1))
    slots = [due for _, due in runs]
    local_days = [due.astimezone(clock.SHANGHAI) for due in slots]
    assert len(slots) == len(set(slots)) == 4, runs
    assert [(d.day, d.hour, d.minute) for d in local_days] == [(2, 8, 30), (3, 8, 30), (4, 8, 30), (5, 8, 30)]
    with engine.connect() as conn:
        row = conn.execute(select(tables.schedule.c.next_run_at, tables.schedule.c.last_due_at)).first()
    assert row is not None


def test_a_service_down_for_days_runs_a_missed_slot_once(engine: Engine) -> None:
    clock.set_now(datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    runs: list[datetime] = []
    runner = runner_for(engine)
    runner.every("snapshot", lambda ctx: runs.append(ctx.due_at), daily_at="02:00")
    assert runner.tick() == []  # creates the row: the first slot is 02:00 tomorrow (Shanghai)
    clock.advance(timedelta(days=3))
    assert runner.tick() == ["snapshot"]
    assert runner.tick() == []
    assert len(runs) == 1
    s = tables.schedule.c
    with engine.begin() as conn:  # an error in one run is recorded and the next slot still comes
        conn.execute(update(tables.schedule).where(s.name == "snapshot").values(next_run_at=clock.now()))

    def broken(ctx: ScheduleContext) -> None:
        raise ZeroDivisionError("no snapshot today")

    runner.every("snapshot", broken, daily_at="02:00")
    assert runner.tick() == ["snapshot"]
    with engine.connect() as conn:
        error = conn.execute(select(s.last_error)).scalar_one()
    assert "ZeroDivisionError" in error


# --- fairness and slots ------------------------------------------------------------------------


def wait_for_state(engine: Engine, job_id: str, state: str, seconds: float = 10) -> str:
    deadline = time.monotonic() + seconds
    while (found := states(engine)[job_id]) != state and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def test_another_callers_job_does_not_wait_behind_a_long_one(engine: Engine) -> None:
    runner = runner_for(engine, poll_s=0.05)
    release = threading.Event()
    started: list[str] = []
    b_done = threading.Event()

    def slow(ctx: JobContext) -> None:
        started.append(ctx.payload["name"])
        assert release.wait(30)

    def quick(ctx: JobContext) -> None:
        started.append(ctx.payload["name"])
        assert OWNER_KEY not in ctx.payload
        b_done.set()

    runner.register("slow", slow)
    runner.register("quick", quick)
    with session_scope(engine) as session:  # A asked first, twice; then B
        a1 = runner.enqueue(session, "slow", {"name": "A1"}, owner="user:a")
        a2 = runner.enqueue(session, "slow", {"name": "A2"}, owner="user:a")
    with session_scope(engine) as session:
        b = runner.enqueue(session, "quick", {"name": "B"}, owner="user:b")
    assert runner.workers >= 2  # the default, on SQLite too
    runner.start()
    try:
        assert b_done.wait(10), started  # B ran while A's first job still runs
        assert wait_for_state(engine, b, "done") == "done"
        assert states(engine)[a1] == "running" and states(engine)[a2] == "queued"  # never two of A at once
        # A1 is claimed ("running") a moment before its function starts: on a busy machine B may be first
        deadline = time.monotonic() + 10
        while len(started) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(started) == ["A1", "B"]
        release.set()
        assert wait_for_state(engine, a1, "done") == "done" and wait_for_state(engine, a2, "done") == "done"
    finally:
        release.set()
        runner.close()


def test_a_stuck_job_past_its_time_limit_is_failed_and_its_slot_goes_to_the_next(engine: Engine) -> None:
    runner = runner_for(engine, poll_s=0.05, heartbeat_s=0.05, workers=1)
    release = threading.Event()
    quick_done = threading.Event()

    def stuck(ctx: JobContext) -> None:
        release.wait(30)  # never checks its deadline (a library call that takes its time)

    runner.register("stuck", stuck, timeout_s=0.3)
    runner.register("quick", lambda ctx: quick_done.set())
    with session_scope(engine) as session:
        stuck_id = runner.enqueue(session, "stuck", {}, owner="user:a")
    with session_scope(engine) as session:
        quick_id = runner.enqueue(session, "quick", {}, owner="user:b")
    started = time.monotonic()
    runner.start()
    try:
        assert quick_done.wait(10)
        assert time.monotonic() - started < 5
        assert not release.is_set()  # the stuck function is still inside
        with Session(engine) as session:
            info = runner.status(session, stuck_id)
        assert info is not None and info.state == "failed" and "时限" in (info.error or "")
        assert wait_for_state(engine, quick_id, "done") == "done"
    finally:
        release.set()
        runner.close()
    time.sleep(0.2)
    assert states(engine)[stuck_id] == "failed"  # its late return changes nothing


def test_a_kind_without_a_time_limit_gets_the_runners_default(engine: Engine) -> None:
    runner = runner_for(engine, heartbeat_s=0.05, default_timeout_s=0.3)
    release = threading.Event()

    def unbounded(ctx: JobContext) -> None:
        release.wait(10)  # never checks a deadline

    runner.register("unbounded", unbounded)
    with session_scope(engine) as session:
        job_id = runner.enqueue(session, "unbounded", {})
    worker = threading.Thread(target=runner.run_pending)
    worker.start()
    try:
        assert wait_for_state(engine, job_id, "failed", seconds=5) == "failed"
        with Session(engine) as session:
            info = runner.status(session, job_id)
        assert info is not None and "时限 0.3 秒" in (info.error or "")
    finally:
        release.set()
        worker.join(10)
    assert runner_for(engine).kinds == {} and JobRunner(engine, tables).default_timeout_s == 3600


def test_on_sqlite_a_solo_job_runs_alone(engine: Engine) -> None:
    runner = runner_for(engine)
    runner.register("big_write", lambda ctx: None, solo=True)
    runner.register("other", lambda ctx: None)
    sqlite = engine.dialect.name == "sqlite"
    with session_scope(engine) as session:
        runner.enqueue(session, "big_write", {}, owner="user:a")
        runner.enqueue(session, "other", {}, owner="user:b")
    solo = runner.claim()
    assert solo is not None and solo.kind == "big_write"
    other = runner.claim()
    assert (other is None) if sqlite else (other is not None and other.kind == "other")
    runner._finish(solo, "done")
    if sqlite:
        other = runner.claim()
        assert other is not None and other.kind == "other"
    # the other way round: a solo job waits (on SQLite) until the running jobs are done
    with session_scope(engine) as session:
        runner.enqueue(session, "big_write", {}, owner="user:c")
    waiting = runner.claim()
    assert (waiting is None) if sqlite else (waiting is not None and waiting.kind == "big_write")
    assert other is not None
    runner._finish(other, "done")
    if sqlite:
        waiting = runner.claim()
        assert waiting is not None and waiting.kind == "big_write"


def test_a_failed_claim_does_not_lose_its_worker_slot(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = runner_for(engine, poll_s=0.02, workers=1)
    done = threading.Event()
    runner.register("ping", lambda ctx: done.set())
    claim, failures = runner.claim, [1]

    def flaky_claim() -> JobContext | None:
        if failures:
            failures.pop()
            raise OSError("database away for a moment")
        return claim()

    monkeypatch.setattr(runner, "claim", flaky_claim)
    with session_scope(engine) as session:
        runner.enqueue(session, "ping", {})
    runner.start()
    try:
        assert done.wait(10)  # the one slot is still there after the failed claim
    finally:
        runner.close()
