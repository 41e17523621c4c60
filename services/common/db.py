"""Engines and sessions: SQLite (WAL, foreign keys) by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import registry
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_registry() -> registry:
    """A registry with its own metadata, one per service, with deterministic constraint names."""
    return registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` as given by operators and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Build the engine for a service database; SQLite files get their directory created."""
    url = normalize_url(url)
    kwargs: dict[str, Any] = {}
    if is_sqlite(url):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        # Enough pooled connections for the thread pool (40 threads): opening a SQLite connection
        # (and its PRAGMAs) per request when the pool overflows costs more than the query.
        kwargs.update(pool_size=5, max_overflow=10)
    else:
        # No pre-ping: it costs a round trip per checkout; a dropped connection fails one request and
        # SQLAlchemy then invalidates the pool.
        kwargs.update(pool_size=pool_size, max_overflow=pool_size * 2, pool_recycle=1800)
    engine = create_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _sqlite_begin) so writers take the lock up front.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE: a transaction that will write takes the write lock at BEGIN, so two writers
    # queue on busy_timeout instead of failing with "database is locked" on upgrade.
    deferred = conn.get_execution_options().get("sqlite_deferred", False)
    conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def read_engine(engine: Engine) -> Engine:
    """The same pool, but SQLite transactions begin deferred: for requests that only read."""
    return engine.execution_options(sqlite_deferred=True)


def get_read_session(request: Request) -> Iterator[Session]:
    """A session for a request that only reads (never blocks behind a SQLite writer)."""
    with Session(request.app.state.read_engine, expire_on_commit=False) as session:
        yield session


T = TypeVar("T")


async def run_read(request: Request, fn: Callable[[Connection], T]) -> T:
    """Run a short read (one indexed look-up) for an ``async`` route.

    SQLite is an in-process library call of a few microseconds: it runs right on the event loop,
    which is cheaper than the thread-pool hop a sync route costs. PostgreSQL involves a network
    round trip, so there it runs in the thread pool as usual.
    """
    engine: Engine = request.app.state.read_engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            return fn(conn)
    return await run_in_threadpool(_read_in_thread, engine, fn)


def _read_in_thread(engine: Engine, fn: Callable[[Connection], T]) -> T:
    with engine.connect() as conn:
        return fn(conn)


def get_session(request: Request) -> Iterator[Session]:
    """The request's session: the only place that commits. The app stores its engine in state."""
    with session_scope(request.app.state.engine) as session:
        yield session


# scope="function": commit happens when the route returns, before the response is sent,
# so a client never sees 201 for a write that did not commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
