"""Tables of the registry service: divisions, member units, the three numbered record kinds
(sites, facilities, vehicles), their change history and the numbering counters.

Indexes follow the lists: every list is keyset-paginated on ``code`` and filtered by county
and/or category or kind, so each filter has a composite index ending in ``code`` (a b-tree walks
either way, so these serve ``sort=-code`` too). The other sorts (``-updated_at``, and ``name`` for
sites and facilities) have (county_code, key, code) and (key, code): a county list in any sort is
an index walk; a category or kind filter on top is checked row by row along that walk.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from services.common.db import new_registry
from services.common.service_tables import kernel_tables


class RegistryTable(SQLModel, registry=new_registry()):
    """Base of every table model of this service (its own metadata)."""


def _ts(nullable: bool = False) -> Any:
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=nullable)


class Division(RegistryTable, table=True):
    """City → county (6 digits) → street (9) → community (12)."""

    __tablename__ = "division"
    __table_args__ = (Index("ix_division_level_parent_code", "level", "parent_code", "code"),)

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=64)
    level: str = Field(max_length=16)
    parent_code: str | None = Field(default=None, max_length=12)


class MemberUnit(RegistryTable, table=True):
    """成员单位: a bureau, a county government, a street office or another body."""

    __tablename__ = "member_unit"

    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    county_code: str | None = Field(default=None, max_length=6)
    contact: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    duties: str | None = Field(default=None, sa_type=Text)


def _record_args(table: str, *keys: str, county_only: tuple[str, ...] = ()) -> tuple[Any, ...]:
    """A record table's external id, unique per county, and the indexes behind its list (see above):
    (county_code, code); (county_code, key, code) for each of ``keys`` and ``county_only``; (key, code)
    for each of ``keys``."""
    county = [("county_code", key) for key in (*county_only, *keys)]
    return (
        UniqueConstraint("county_code", "external_id"),
        *(
            Index(f"ix_{table}_{'_'.join(columns)}_code", *columns, "code")
            for columns in (("county_code",), *county, *((key,) for key in keys))
        ),
    )


class _Record(RegistryTable):
    """The first columns of a site, facility or vehicle."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)


class _RecordState(_Record):
    """The last columns of a site, facility or vehicle. Each table class names this base first and its
    own columns' base second (``class Site(_RecordState, _SiteColumns)``): the columns then stand as
    code, the kind's own, then these."""

    status: str = Field(default="active", max_length=16)
    external_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    decommissioned_at: datetime | None = _ts(nullable=True)
    version: int = 1


class _SiteColumns(_Record):
    kind: str = Field(max_length=32)
    name: str = Field(max_length=128)
    county_code: str = Field(max_length=6)
    street_code: str | None = Field(default=None, max_length=9)
    community_code: str | None = Field(default=None, max_length=12)
    address: str | None = Field(default=None, max_length=255)
    lat: float | None = None
    lng: float | None = None
    covered: bool = False
    covered_since: date | None = None
    sorted_collection: bool = False
    sorted_transport: bool = False


class Site(_RecordState, _SiteColumns, table=True):
    """分类管理对象: a residential compound, institution, public place, market, school, hospital."""

    __tablename__ = "site"
    __table_args__ = _record_args("site", "kind", "updated_at", "name")


class _FacilityColumns(_Record):
    kind: str = Field(max_length=32)
    category: str = Field(max_length=16)
    name: str = Field(max_length=128)
    county_code: str = Field(max_length=6)
    street_code: str | None = Field(default=None, max_length=9)
    community_code: str | None = Field(default=None, max_length=12)
    site_code: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=255)
    lat: float
    lng: float
    capacity: float | None = None


class Facility(_RecordState, _FacilityColumns, table=True):
    """A sorting facility, from a bin group to a treatment plant; located in WGS-84."""

    __tablename__ = "facility"
    __table_args__ = _record_args("facility", "category", "kind", "updated_at", "name")


class _VehicleColumns(_Record):
    plate_number: str = Field(max_length=8)
    category: str = Field(max_length=16)
    energy_type: str = Field(max_length=16)
    capacity_tonnes: float | None = None
    operator_name: str | None = Field(default=None, max_length=128)
    county_code: str = Field(max_length=6)
    road_permit_expires_on: date | None = None
    inspection_due_on: date | None = None
    gps_device_id: str | None = Field(default=None, max_length=64)


class Vehicle(_RecordState, _VehicleColumns, table=True):
    """A collection or transport vehicle. A plate is unique among active vehicles (the partial
    unique index); a decommissioned vehicle keeps its plate in its record."""

    __tablename__ = "vehicle"
    __table_args__ = (
        *_record_args("vehicle", "updated_at", county_only=("category",)),
        Index("ix_vehicle_plate_number", "plate_number"),
        Index(
            "uq_vehicle_active_plate_number",
            "plate_number",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )


class RecordHistory(RegistryTable, table=True):
    """One row per change of a site, facility or vehicle: who, when, before and after."""

    __tablename__ = "record_history"
    __table_args__ = (
        Index("ix_record_history_kind_code_id", "kind", "code", "id"),
        # GET /changes: newest first, city-wide or for one county, O(limit).
        Index("ix_record_history_at_id", "at", "id"),
        Index("ix_record_history_county_code_at_id", "county_code", "at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    code: str = Field(max_length=40)
    county_code: str | None = Field(default=None, max_length=6)
    action: str = Field(max_length=16)
    actor_sub: str = Field(max_length=128)
    actor_name: str = Field(default="", max_length=128)
    at: datetime = _ts()
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class NumberCounter(RegistryTable, table=True):
    """The next number of each (county, record kind); see ``services.registry.numbering``."""

    __tablename__ = "number_counter"

    county_code: str = Field(primary_key=True, max_length=6)
    kind: str = Field(primary_key=True, max_length=16)
    next_value: int = Field(default=1, sa_type=Integer)


class RecordCount(RegistryTable, table=True):
    """Counters behind the dashboard: how many records of each (kind, county, category, sub-kind,
    status) exist. Kept in the transaction of every create, change and decommission (``stats``), so
    ``GET /stats`` reads a few hundred rows whatever the number of facilities.

    ``sub_kind`` is the facility or site kind and the vehicle's energy type; ``category`` is ""
    for sites (no category)."""

    __tablename__ = "record_count"

    kind: str = Field(primary_key=True, max_length=16)
    county_code: str = Field(primary_key=True, max_length=6)
    category: str = Field(primary_key=True, max_length=16)
    sub_kind: str = Field(primary_key=True, max_length=32)
    status: str = Field(primary_key=True, max_length=16)
    count: int = Field(default=0, sa_type=Integer)


class ImportJob(RegistryTable, table=True):
    """One uploaded spreadsheet of sites, facilities or vehicles: validated, then written on confirm.

    ``county_code`` is the importing county caller's county (None for office callers) and decides
    who sees the job. ``county_counts`` holds the valid rows per county, for reserving numbers.
    ``runner`` is ``host:pid`` of the process working on it, for recovery after a crash."""

    __tablename__ = "import_job"
    __table_args__ = (
        Index("ix_import_job_county_code_created_at", "county_code", "created_at"),
        Index("ix_import_job_created_at", "created_at"),
        Index("ix_import_job_status", "status"),
    )

    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=16)
    filename: str = Field(max_length=255)
    county_code: str | None = Field(default=None, max_length=6)
    status: str = Field(max_length=16)
    total_rows: int | None = None
    processed_rows: int = 0
    valid_rows: int = 0
    error_count: int = 0
    created_count: int = 0
    first_code: str | None = Field(default=None, max_length=40)
    last_code: str | None = Field(default=None, max_length=40)
    message: str = Field(default="", sa_type=Text)
    created_by: str = Field(max_length=128)
    created_by_name: str = Field(default="", max_length=128)
    caller: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    county_counts: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    file_path: str = Field(max_length=500)  # the upload's key in the file storage (older jobs: a local path)
    file_sha256: str = Field(max_length=64)
    file_size: int = 0
    runner: str | None = Field(default=None, max_length=128)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True)


class ImportRowError(RegistryTable, table=True):
    """One problem found in an import file (at most ``bulk.jobs.MAX_STORED_ERRORS`` per job)."""

    __tablename__ = "import_row_error"
    __table_args__ = (Index("ix_import_row_error_job_id_id", "job_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=32)
    row: int
    column: str = Field(max_length=64)
    value: str | None = Field(default=None, sa_type=Text)
    message: str = Field(sa_type=Text)


metadata = RegistryTable.metadata
outbox, idempotency, jobs = kernel_tables(metadata, "registry")
# The office's working-day calendar (State Council notices the package does not know yet, local
# changes): its entries win over ``chinese_calendar``; see ``services.common.workdays``.
workday_override_t = Table(
    "workday_override",
    metadata,
    Column("date", Date, primary_key=True),
    Column("is_workday", Boolean, nullable=False),
    Column("note", String(200), nullable=False),
    Column("updated_by", String(128), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

division_t = Division.__table__  # type: ignore[attr-defined]
unit_t = MemberUnit.__table__  # type: ignore[attr-defined]
site_t = Site.__table__  # type: ignore[attr-defined]
facility_t = Facility.__table__  # type: ignore[attr-defined]
vehicle_t = Vehicle.__table__  # type: ignore[attr-defined]
history_t = RecordHistory.__table__  # type: ignore[attr-defined]
counter_t = NumberCounter.__table__  # type: ignore[attr-defined]
record_count_t = RecordCount.__table__  # type: ignore[attr-defined]
import_job_t = ImportJob.__table__  # type: ignore[attr-defined]
import_error_t = ImportRowError.__table__  # type: ignore[attr-defined]
