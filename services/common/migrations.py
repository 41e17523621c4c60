"""Alembic glue: one ``migrations/alembic.ini`` with a section per service (and the gateway)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from services.common.db import is_sqlite, make_engine, normalize_url

ROOT = Path(__file__).resolve().parents[2]
INI = ROOT / "migrations" / "alembic.ini"
SECTIONS = ("gateway", "registry", "assessment", "supervision")


def alembic_config(section: str, url: str) -> Config:
    cfg = Config(str(INI), ini_section=section)
    cfg.set_main_option("script_location", str(ROOT / "migrations" / section))
    cfg.attributes["url"] = normalize_url(url)
    return cfg


def upgrade(section: str, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(section, url), revision)


def run_env(metadata: MetaData) -> None:
    """Body of each ``env.py``: online migrations against the URL the caller configured."""
    from alembic import context

    cfg = context.config
    url = cfg.attributes.get("url") or cfg.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("未配置数据库地址")
    connection: Connection | None = cfg.attributes.get("connection")
    if connection is not None:
        _run(context, connection, metadata, url)
        return
    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        _run(context, conn, metadata, url)
    engine.dispose()


def _run(context: object, connection: Connection, metadata: MetaData, url: str) -> None:
    ctx = context  # alembic's context module
    ctx.configure(  # type: ignore[attr-defined]
        connection=connection,
        target_metadata=metadata,
        render_as_batch=is_sqlite(url),
        compare_type=True,
    )
    with ctx.begin_transaction():  # type: ignore[attr-defined]
        ctx.run_migrations()  # type: ignore[attr-defined]
