"""What a job function gets (``JobContext``), what ``JobRunner.status`` answers (``JobInfo``), and how a
runner tells that the worker holding a job is gone (``worker_gone``). See ``services.common.jobs``."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from sqlalchemy import update
from sqlalchemy.engine import Engine

from services.common import clock
from services.common.storage import FileStorage

if TYPE_CHECKING:
    from services.common.jobs import JobRunner

_HOST = socket.gethostname()
_PID = os.getpid()
# Worker ids of the runners alive in this process: a running job of this pid whose worker is not
# here was left by a runner that stopped (or a process that reused the pid).
LIVE_WORKERS: set[str] = set()


class JobTimeout(Exception):
    """The job's deadline has passed; raised from the context's progress/heartbeat/check."""


@dataclass
class JobInfo:
    id: str
    kind: str
    state: str  # queued | running | done | failed
    progress_done: int
    progress_total: int | None
    result: Any
    result_key: str | None
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass
class JobContext:
    """What a job function gets: its payload, the engine, the storage, and the calls that report."""

    job_id: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    worker_id: str
    engine: Engine
    storage: FileStorage | None
    runner: JobRunner
    deadline: float | None = None  # time.monotonic() value
    timed_out: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        """Raise ``JobTimeout`` once the job's deadline has passed."""
        if self.timed_out.is_set() or (self.deadline is not None and time.monotonic() > self.deadline):
            self.timed_out.set()
            raise JobTimeout(self.kind)

    def heartbeat(self) -> None:
        self.check()
        self.runner._beat(self.job_id, self.worker_id)

    def progress(self, done: int, total: int | None = None) -> None:
        """Record progress: kept in the process (``status`` shows it), written by the next heartbeat."""
        self.check()
        self.runner._progress(self, done, total)

    def save_result_file(
        self, data: str | Path | bytes | Iterable[bytes], name: str, content_type: str | None = None
    ) -> str:
        """Store a result file (a path, bytes or an iterable of chunks) and note its key on the job."""
        if self.storage is None:
            raise RuntimeError("this runner has no file storage")
        if isinstance(data, str | Path):
            with open(data, "rb") as f:
                stored = self.storage.put(f, original_name=name, content_type=content_type)
        elif isinstance(data, bytes):
            stored = self.storage.put(data, original_name=name, content_type=content_type)
        else:
            with tempfile.TemporaryFile() as spool:
                for chunk in data:
                    spool.write(chunk)
                spool.seek(0)
                stored = self.storage.put(cast(BinaryIO, spool), original_name=name, content_type=content_type)
        with self.engine.begin() as conn:
            conn.execute(
                update(self.runner.job_t).where(self.runner.job_t.c.id == self.job_id).values(result_key=stored.key)
            )
        return stored.key


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_gone(worker: str | None, heartbeat_at: datetime | None, now: datetime, stale_after: timedelta) -> bool:
    """Whether the worker ``host:pid[:tag]`` that holds a job has stopped (see the module docstring)."""
    host, _, rest = (worker or "").partition(":")
    pid_text = rest.split(":", 1)[0]
    pid = int(pid_text) if pid_text.isdigit() else -1
    if host == _HOST:
        if pid == _PID:
            return worker not in LIVE_WORKERS
        return pid <= 0 or not _alive(pid)
    return heartbeat_at is None or clock.as_utc(heartbeat_at) < now - stale_after
