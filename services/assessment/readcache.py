"""Computed read models (the quarter board, the forecast) kept per (database, key, data version).

The data version is the newest outbox ``seq``: every change that moves a task, a judgement, a due
date, a quarter or a catalogue writes an event in the same transaction, so a repeat request costs
one indexed ``max(seq)`` instead of the whole computation. An entry also expires after
``MAX_AGE`` seconds, for what the outbox does not see (the registry's unit names and figures)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlmodel import Session

from services.assessment import repository

T = TypeVar("T")
MAX_AGE = 60.0
MAX_ENTRIES = 64  # per database: a few quarters x kinds x scopes

_lock = threading.Lock()
_entries: WeakKeyDictionary[Any, dict[Hashable, tuple[float, int, Any]]] = WeakKeyDictionary()


def cached(
    session: Session, key: Hashable, compute: Callable[[], T], still_good: Callable[[T], bool] | None = None
) -> T:
    """``compute()``'s answer for ``key`` at the database's current data version (``still_good``
    may refuse a kept answer for what the version does not cover)."""
    engine = session.get_bind()
    version = repository.data_version(session)
    now = time.monotonic()
    with _lock:
        hit = _entries.get(engine, {}).get(key)
    fresh = hit is not None and hit[1] == version and now - hit[0] < MAX_AGE
    if hit is not None and fresh and (still_good is None or still_good(hit[2])):
        return hit[2]
    value = compute()
    with _lock:
        store = _entries.setdefault(engine, {})
        if len(store) >= MAX_ENTRIES:
            store.clear()
        store[key] = (now, version, value)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
