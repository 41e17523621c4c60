"""Durable writes on a local disk (the local file storage): directory fsyncs (issued together with
the file's), ``mkdir -p`` that reports what it made, and Linux's ``sync_file_range`` to start
write-out while a body still arrives."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import cast

MIB = 1024 * 1024
log = logging.getLogger(__name__)


def fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# The fsyncs of a stored file and of its directories run here (see ``fsync_started``); they never
# wait for anything but the disk, so a full pool only delays them, it cannot deadlock.
_SYNCS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fsync")


def fsync_started(fd: int, dirs: Iterable[Path]) -> Callable[[], None]:
    """Issue ``fsync(fd)`` and ``fsync_dir`` of each of ``dirs`` at the same time, from the pool, and
    return at once; the returned ``wait()`` returns when all are done (raising what the file's fsync
    raised). Calling ``wait()`` again returns (or raises) the same at once.

    Why together: each fsync waits for the journal commit that holds its change, and one that finds
    that commit already done still makes the device flush its cache (ext4 does, to keep its promise).
    One after the other, a new file in new directories cost four flushes (file, its directory, the
    two directories made for it: +0.4 ms to +3 ms here); issued together they wait for one journal
    commit and its one flush. The guarantee is the same as one after the other: nothing returns
    before the bytes, the name and every directory made for it are durable. (Deferring the
    directories' fsyncs past the answer was the other way to batch them: a key would then be handed
    out that a crash could still lose, so no.)

    Why started rather than waited for here: the caller may prepare what names the file (a database
    row, not yet committed) while the disk works, and wait before it commits.
    """
    file_sync = _SYNCS.submit(os.fsync, fd)
    pending = [_SYNCS.submit(fsync_dir, d) for d in dirs]

    def wait() -> None:
        for done in pending:
            done.result()
        file_sync.result()

    return wait


def sync_paths_started(files: Iterable[Path], dirs: Iterable[Path]) -> Callable[[], None]:
    """As ``fsync_started`` for files named by their paths (each opened in the pool): ``fsync`` every
    one of ``files`` and ``fsync_dir`` every one of ``dirs``, all issued at once; ``wait()`` returns
    when every one is done and raises the first failure.

    For files stored with ``sync=False`` (see ``receive_body``): their sync starts this way as they
    are stored, nobody waiting (a failure is logged); the owner's barrier (``make_durable``) syncs
    them again and waits, which finds little left to do."""
    pending = _issue(files, dirs)

    def wait() -> None:
        for done in pending:
            done.result()

    return wait


def sync_paths_soon(files: list[Path], dirs: list[Path]) -> None:
    """``sync_paths_started`` with nobody waiting: a failure (other than the file gone meanwhile,
    e.g. a resend's copy deleted) is logged; the barrier that follows reports it."""
    for future in _issue(files, dirs):
        future.add_done_callback(_log_failure)


def _issue(files: Iterable[Path], dirs: Iterable[Path]) -> list[Future[None]]:
    return [_SYNCS.submit(_fsync_path, f) for f in files] + [_SYNCS.submit(fsync_dir, d) for d in dirs]


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _log_failure(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None and not isinstance(exc, FileNotFoundError):
        log.error("could not sync a stored file: %s", exc)


def make_dirs(path: Path, root: Path) -> list[Path]:
    """``mkdir -p`` under ``root``; the directories it made, outermost first."""
    missing: list[Path] = []
    while path != root and not path.is_dir():
        missing.append(path)
        path = path.parent
    made = []
    for directory in reversed(missing):
        # made by another upload meanwhile: synced here all the same (that one may not be done yet)
        directory.mkdir(exist_ok=True)
        made.append(directory)
    return made


def _writeback_starter() -> Callable[[int, int, int, int], object] | None:
    """Linux ``sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE)``: start writing a range out
    without waiting for it (Python's ``os`` lacks it before 3.14's); ``None`` elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return cast("Callable[[int, int, int, int], object]", fn)


START_WRITEBACK = _writeback_starter()
SYNC_FILE_RANGE_WRITE = 2
WRITEBACK_STEP = MIB
