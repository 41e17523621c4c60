"""The stored-file table: what the kernel keeps about each uploaded file, defined into a service's metadata.

API::

    files_t = stored_file_table(metadata)          # table ``stored_file`` (add it to the service's migrations)
    row = record_file(session, files_t, stored, uploaded_by=caller.sub)   # in the caller's transaction
    row = get_file(session, files_t, file_id)      # FileRecord | None
    rows = get_files(session, files_t, [id, ...])  # in the order asked, missing ids left out
    delete_file_row(session, files_t, file_id)     # the bytes stay: delete them from the storage after commit

The domain row keeps the file's ``id`` (a UUID string). The bytes live in the file storage under ``key``;
``sha256``, ``size`` and ``content_type`` are what the upload measured and sniffed, ``original_name`` the
cleaned name to offer on download, never a path. These queries are the kernel's repository for its own table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, delete, insert, select
from sqlalchemy.orm import Session

from services.common import clock
from services.common.storage import StoredFile

STORED_FILE_TABLE = "stored_file"


def stored_file_table(metadata: MetaData) -> Table:
    """Define the ``stored_file`` table in a service's own metadata."""
    return Table(
        STORED_FILE_TABLE,
        metadata,
        Column("id", String(36), primary_key=True),
        Column("key", String(200), nullable=False, unique=True),
        Column("sha256", String(64), nullable=False, index=True),
        Column("size", BigInteger, nullable=False),
        Column("content_type", String(100), nullable=False),
        Column("original_name", String(255), nullable=False),
        Column("uploaded_by", String(100), nullable=False),
        Column("uploaded_at", DateTime(timezone=True), nullable=False),
    )


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One row of ``stored_file``."""

    id: str
    key: str
    sha256: str
    size: int
    content_type: str
    original_name: str
    uploaded_by: str
    uploaded_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> FileRecord:
        m = row._mapping
        return cls(**{f.name: m[f.name] for f in fields(cls)})


def record_file(
    session: Session, table: Table, stored: StoredFile, *, uploaded_by: str, file_id: str | None = None
) -> FileRecord:
    """Insert the row for a file just stored; commits with the caller's transaction."""
    record = FileRecord(
        id=file_id or str(uuid.uuid4()), **asdict(stored), uploaded_by=uploaded_by, uploaded_at=clock.now()
    )
    session.execute(insert(table).values(**asdict(record)))
    return record


def record_files(session: Session, table: Table, stored: Sequence[StoredFile], *, uploaded_by: str) -> list[FileRecord]:
    """``record_file`` for each file of an upload, in order."""
    return [record_file(session, table, s, uploaded_by=uploaded_by) for s in stored]


def get_file(session: Session, table: Table, file_id: str) -> FileRecord | None:
    row = session.execute(select(table).where(table.c.id == file_id)).first()
    return FileRecord.from_row(row) if row is not None else None


def get_files(session: Session, table: Table, file_ids: Sequence[str]) -> list[FileRecord]:
    if not file_ids:
        return []
    rows = session.execute(select(table).where(table.c.id.in_(list(file_ids)))).all()
    found = {r.id: r for r in (FileRecord.from_row(row) for row in rows)}
    return [found[i] for i in file_ids if i in found]


def delete_file_row(session: Session, table: Table, file_id: str) -> FileRecord | None:
    """Remove the row and return it (so the caller can delete ``key`` from the storage after the commit)."""
    record = get_file(session, table, file_id)
    if record is not None:
        session.execute(delete(table).where(table.c.id == file_id))
    return record
