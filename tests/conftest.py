"""Fixtures shared by the whole suite: a clean database per test, built by the migrations.

Every database-backed test runs on SQLite and, when SORTLINE_TEST_DATABASE_URL is set, on
PostgreSQL too. On PostgreSQL each test gets its own database, cloned from a template that the
migrations built once per run, and dropped afterwards: nothing the suite did not create is touched.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from services.common import clock
from services.common.db import make_engine, normalize_url
from services.common.migrations import upgrade

PG_URL = os.environ.get("SORTLINE_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
RUN_ID = uuid.uuid4().hex[:8]


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test has its own data directory and a running clock."""
    monkeypatch.setenv("SORTLINE_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv("SORTLINE_ENV", "test")
    clock.set_now(None)
    yield
    clock.set_now(None)


def _admin_engine() -> Engine:
    return create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT", poolclass=None)


class Databases:
    """Makes migrated databases for a section ('registry', 'gateway', ...) on one backend."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        self.workdir = workdir
        self._templates: dict[str, str] = {}
        self._created: list[str] = []
        self._per_test: list[str] = []
        self._engines: list[Engine] = []

    def _template(self, section: str) -> str:
        if section in self._templates:
            return self._templates[section]
        if self.backend == "sqlite":
            path = self.workdir / f"template-{section}.db"
            upgrade(section, f"sqlite:///{path}")
            self._templates[section] = str(path)
        else:
            name = f"sltpl_{RUN_ID}_{os.getpid()}_{section}"
            with _admin_engine().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self._created.append(name)
            upgrade(section, str(make_url(normalize_url(PG_URL)).set(database=name)))
            self._templates[section] = name
        return self._templates[section]

    def url(self, section: str) -> str:
        """A fresh, migrated, empty database for ``section``."""
        template = self._template(section)
        if self.backend == "sqlite":
            path = self.workdir / f"{section}-{uuid.uuid4().hex[:8]}.db"
            shutil.copy(template, path)
            return f"sqlite:///{path}"
        name = f"slt_{RUN_ID}_{uuid.uuid4().hex[:10]}"
        with _admin_engine().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        self._per_test.append(name)
        return str(make_url(normalize_url(PG_URL)).set(database=name))

    def engine(self, section: str) -> Engine:
        engine = make_engine(self.url(section))
        self._engines.append(engine)
        return engine

    def close_engines(self) -> None:
        """Dispose this test's engines and drop its databases."""
        for engine in self._engines:
            engine.dispose()
        self._engines.clear()
        if self._per_test:
            with _admin_engine().connect() as conn:
                for name in self._per_test:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self._per_test.clear()

    def drop_all(self) -> None:
        self.close_engines()
        if self.backend != "postgresql" or not self._created:
            return
        with _admin_engine().connect() as conn:
            for name in reversed(self._created):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._created.clear()


@pytest.fixture(scope="session", params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """The backend under test; the whole suite of database tests runs once per backend."""
    dbs = Databases(request.param, tmp_path_factory.mktemp(f"db-{request.param}"))
    yield dbs
    dbs.drop_all()


@pytest.fixture
def make_db(databases: Databases) -> Iterator[Callable[[str], Engine]]:
    """``make_db("registry")`` gives an engine on a fresh migrated database; disposed after the test."""
    yield databases.engine
    databases.close_engines()
