"""Column pieces the services' table models share, and a row's columns as a plain dict.

``class Plan(SupervisionTable, IdKey, table=True)`` gives a table the usual integer key ``id``;
``created_at: datetime = timestamp()`` a UTC time column; ``items: list[str] = json_value()`` a JSON
column (read and written as a whole)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, DateTime
from sqlmodel import Field, SQLModel


class IdKey(SQLModel):
    """The integer primary key ``id`` the database numbers (listed first among the columns)."""

    id: int | None = Field(default=None, primary_key=True)


def timestamp(nullable: bool = False) -> Any:
    """A time zone aware time column (stored UTC)."""
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=nullable)


def json_value(nullable: bool = False) -> Any:
    """A JSON column."""
    return Field(default=None, sa_type=JSON, nullable=nullable)


def values_of(row: object, *names: str) -> dict[str, Any]:
    """``{name: row.name}`` for each name, in the order given (a row's public view)."""
    return {name: getattr(row, name) for name in names}
