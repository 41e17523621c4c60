"""Every check of an import row: the cell checks (``columns.parse_row``), the API's ``*Create``
schema (same messages as ``POST /<kind>``), the caller's county, and the checks against the
database that ``service`` makes for one record (divisions, site, plate and external-id
duplicates), here made for a batch of rows with one query each, plus duplicates inside the file.

The same ``RowChecker`` runs when the file is validated and again, inside the write
transaction, when it is confirmed: what changed in between is found there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import Connection

from services.common import clock
from services.common.errors import translate_errors
from services.common.tabular import ErrorEntry, Row, sheet_message
from services.registry import validation as v
from services.registry.bulk import repository
from services.registry.bulk.columns import Spec, parse_row
from services.registry.models import facility_t, site_t, vehicle_t
from services.registry.service import division_problem

TABLES = {"site": site_t, "facility": facility_t, "vehicle": vehicle_t}


@dataclass
class Checked:
    """One row after the checks: ``state`` is the record to write (None when there are errors)."""

    row: Row
    state: dict[str, Any] | None
    errors: list[ErrorEntry] = field(default_factory=list)


_EXTERNAL, _PLATE = 1, 2


class RowChecker:
    """Checks rows of one file in order. Keeps the divisions (a few thousand rows) in memory and
    the values seen so far (to find duplicates inside the file) in a temporary file."""

    def __init__(self, conn: Connection, spec: Spec, caller_county: str | None) -> None:
        self.spec = spec
        self.table = TABLES[spec.name]
        self.caller_county = caller_county
        self.headers = spec.headers
        self.divisions: dict[str, str] = repository.division_levels(conn)
        self._seen = repository.FirstSeen()

    # --- one row, without the database -------------------------------------------------------

    def _error(self, checked: Checked, key: str, message: str, value: Any = None) -> None:
        header = self.headers.get(key, key)
        if value is None:
            value = checked.row.values.get(key)
        text = sheet_message(message, v.LABELS, self.headers)  # the sheet's column titles, no API names
        checked.errors.append((checked.row.number, header, None if value is None else str(value), text))

    def _parse(self, row: Row) -> Checked:
        body, errors = parse_row(self.spec, row)
        checked = Checked(row, None, errors)
        county = body.get("county_code")
        if self.caller_county is not None:
            if county is not None and county != self.caller_county:
                self._error(checked, "county_code", f"只能导入本县区（{self.caller_county}）的记录")
            body["county_code"] = self.caller_county
        elif county is None and not any(e[1] == self.headers["county_code"] for e in errors):
            self._error(checked, "county_code", "必填（市级账号导入时每行须填写所属县区代码）")
        broken = {e[1] for e in checked.errors}
        try:
            model = self.spec.schema.model_validate(body)
        except ValidationError as exc:
            for detail in translate_errors(exc.errors()):
                key = (detail.field or "").split(".")[0]
                if self.headers.get(key, key) in broken:
                    continue
                self._error(checked, key, detail.message)
            return checked
        if checked.errors:
            return checked
        state = model.model_dump()
        self._places(checked, state)
        if not checked.errors:
            checked.state = state
        return checked

    def _places(self, checked: Checked, state: dict[str, Any]) -> None:
        """Divisions (as ``service._check_divisions``) and the facility category."""
        problem = division_problem(state, self.divisions.get)
        if problem is not None:
            field, text, value, _unregistered = problem
            self._error(checked, field, text, value)  # the sheet's sentence drops the field's name anyway
            return
        if self.spec.name == "facility":
            try:
                state["category"] = v.facility_category(state["kind"], state.get("category"))
            except ValueError as exc:
                self._error(checked, "category", str(exc), state.get("category"))
        elif self.spec.name == "site" and state.get("covered") and not state.get("covered_since"):
            state["covered_since"] = clock.today()

    # --- a batch, against the database and the rows before it --------------------------------

    def check(self, conn: Connection, rows: Sequence[Row]) -> list[Checked]:
        """The rows, checked in file order (duplicates name the first row that has the value)."""
        checked = [self._parse(row) for row in rows]
        good = [c for c in checked if c.state is not None]
        externals = self._owners_of_external_ids(conn, good)
        plates = self._owners_of_plates(conn, good) if self.spec.name == "vehicle" else {}
        sites = self._site_counties(conn, good) if self.spec.name == "facility" else {}
        for c in good:
            state = c.state
            assert state is not None
            external_id = state.get("external_id")
            if external_id:
                county = state["county_code"]
                first = self._seen.first(_EXTERNAL, f"{county}|{external_id}", c.row.number)
                if first != c.row.number:
                    self._error(c, "external_id", f"与第 {first} 行重复（县区系统编号在县区内唯一）", external_id)
                elif owner := externals.get((county, external_id)):
                    self._error(
                        c,
                        "external_id",
                        v.message("external_id", f"县区系统编号 {external_id} 已由 {owner} 使用"),
                        external_id,
                    )
            if self.spec.name == "vehicle":
                plate = state["plate_number"]
                first = self._seen.first(_PLATE, plate, c.row.number)
                if first != c.row.number:
                    self._error(c, "plate_number", f"与第 {first} 行的车牌号重复", plate)
                elif owner := plates.get(plate):
                    self._error(c, "plate_number", v.message("plate_number", f"车牌号 {plate} 已登记为车辆 {owner}"))
            site_code = state.get("site_code")
            if self.spec.name == "facility" and site_code and sites.get(site_code) != state["county_code"]:
                self._error(c, "site_code", v.message("site_code", f"{site_code} 不是本县区已登记的管理对象"))
            if c.errors:
                c.state = None
        return checked

    def _owners_of_external_ids(self, conn: Connection, good: Sequence[Checked]) -> dict[tuple[str, str], str]:
        wanted: dict[str, set[str]] = {}
        for c in good:
            if c.state and c.state.get("external_id"):
                wanted.setdefault(c.state["county_code"], set()).add(c.state["external_id"])
        return repository.owners_of_external_ids(conn, self.table, wanted)

    def _owners_of_plates(self, conn: Connection, good: Sequence[Checked]) -> dict[str, str]:
        return repository.owners_of_plates(conn, {c.state["plate_number"] for c in good if c.state})

    def _site_counties(self, conn: Connection, good: Sequence[Checked]) -> dict[str, str]:
        wanted = {c.state["site_code"] for c in good if c.state and c.state.get("site_code")}
        return repository.site_counties(conn, wanted)
