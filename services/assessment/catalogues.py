"""The rules of the indicator catalogue: versions, drafts, publishing, items, compare, import/export."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlmodel import Session

from services.assessment import errors, repository
from services.assessment.catalogue_io import check_spec, raise_errors, read_xlsx, read_yaml, spec_to_xlsx, spec_to_yaml
from services.assessment.models import Catalogue, CatalogueItem, UnitAlias, outbox
from services.assessment.ports import RegistryPort
from services.assessment.scoring import item_max
from services.assessment.units import UnitDirectory
from services.common import clock
from services.common.auth import Caller, require_role
from services.common.columns import values_of
from services.common.errors import InvalidInput


def directory(session: Session, registry: RegistryPort) -> UnitDirectory:
    return UnitDirectory(registry.units(), repository.aliases(session))


PUBLIC = (
    "id",
    "name",
    "version",
    "status",
    "based_on",
    "note",
    "total_points",
    "created_at",
    "created_by",
    "published_at",
)
ITEM_PUBLIC = ("code", "category", "name", "points", "rules", "evidence", "lead_unit", "co_units", "data_source")


def public(cat: Catalogue) -> dict[str, Any]:
    return values_of(cat, *PUBLIC)


def item_public(item: CatalogueItem) -> dict[str, Any]:
    return values_of(item, *ITEM_PUBLIC)


def get(session: Session, catalogue_id: int) -> Catalogue:
    return repository.found(session, Catalogue, catalogue_id, errors.catalogue_not_found)


def detail(session: Session, catalogue_id: int) -> dict[str, Any]:
    cat = get(session, catalogue_id)
    return public(cat) | {"items": [item_public(i) for i in repository.catalogue_items(session, catalogue_id)]}


def listing(session: Session) -> dict[str, Any]:
    return {"items": [public(c) for c in repository.catalogues(session)]}


def to_spec(session: Session, catalogue_id: int) -> dict[str, Any]:
    cat = get(session, catalogue_id)
    categories: dict[str, list[dict[str, Any]]] = {}
    for item in repository.catalogue_items(session, catalogue_id):
        data = item_public(item)
        categories.setdefault(data.pop("category"), []).append(data)
    return {
        "name": cat.name,
        "note": cat.note,
        "categories": [{"name": name, "items": items} for name, items in categories.items()],
    }


def create_from_spec(
    session: Session, caller: Caller, spec: Mapping[str, Any], *, based_on: int | None = None, name: str | None = None
) -> Catalogue:
    """A new draft version holding the spec (already checked)."""
    name = (name or spec.get("name") or "评估细则").strip()[:128]
    cat = Catalogue(
        name=name,
        version=repository.latest_version(session, name) + 1,
        status="draft",
        based_on=based_on,
        note=spec.get("note"),
        created_at=clock.now(),
        created_by=caller.name or caller.sub,
    )
    session.add(cat)
    session.flush()
    assert cat.id is not None
    total = 0.0
    position = 0
    for category in spec["categories"]:
        for item in category["items"]:
            position += 1
            item["points"] = item_max(item["rules"])
            total += float(item["points"])
            session.add(
                CatalogueItem(
                    catalogue_id=cat.id,
                    code=str(item["code"]),
                    position=position,
                    category=category["name"],
                    name=item["name"],
                    points=float(item["points"]),
                    rules=list(item["rules"]),
                    evidence=list(item["evidence"]),
                    lead_unit=item["lead_unit"],
                    co_units=list(item.get("co_units") or []),
                    data_source=item.get("data_source") or "manual",
                )
            )
    cat.total_points = round(total, 2)
    session.flush()
    outbox.emit(session, "catalogue", "created", str(cat.id), {"id": cat.id, "name": cat.name, "version": cat.version})
    return cat


def import_file(
    session: Session, caller: Caller, registry: RegistryPort, data: bytes, filename: str, name: str | None = None
) -> dict[str, Any]:
    require_role(caller, "admin", "office")
    units = directory(session, registry)
    lower = filename.lower()
    spec = read_yaml(data, units) if lower.endswith((".yaml", ".yml")) else read_xlsx(data, filename, units)
    return public(create_from_spec(session, caller, spec, name=name))


def export(session: Session, registry: RegistryPort, catalogue_id: int, fmt: str) -> Iterator[bytes] | bytes:
    spec = to_spec(session, catalogue_id)
    if fmt == "yaml":
        return spec_to_yaml(spec)
    return spec_to_xlsx(spec, directory(session, registry))


def publish(session: Session, caller: Caller, catalogue_id: int) -> dict[str, Any]:
    require_role(caller, "admin", "office")
    cat = get(session, catalogue_id)
    if cat.status == "published":
        return public(cat)
    if not repository.catalogue_items(session, catalogue_id):
        raise InvalidInput("空的评估细则不能发布", code="catalogue_empty")
    cat.status = "published"
    cat.published_at = clock.now()
    session.add(cat)
    outbox.emit(
        session, "catalogue", "published", str(cat.id), {"id": cat.id, "name": cat.name, "version": cat.version}
    )
    return public(cat)


def new_draft(session: Session, caller: Caller, catalogue_id: int) -> dict[str, Any]:
    """Editing a published version: a copy as the next draft version of the same name."""
    require_role(caller, "admin", "office")
    cat = get(session, catalogue_id)
    return public(create_from_spec(session, caller, to_spec(session, catalogue_id), based_on=cat.id, name=cat.name))


def _editable(session: Session, catalogue_id: int) -> Catalogue:
    cat = get(session, catalogue_id)
    if cat.status != "draft":
        raise errors.published_immutable(catalogue_id)
    return cat


def put_item(
    session: Session, caller: Caller, registry: RegistryPort, catalogue_id: int, code: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Add or replace one item of a draft (``body`` as in the YAML: category, name, rules, evidence, units)."""
    require_role(caller, "admin", "office")
    cat = _editable(session, catalogue_id)
    item_spec = dict(body) | {"code": code}
    spec = {"name": cat.name, "categories": [{"name": body.get("category", ""), "items": [item_spec]}]}
    units = directory(session, registry)
    item_errors = check_spec(spec, units)
    raise_errors(item_errors)
    existing = repository.catalogue_item(session, catalogue_id, code)
    if existing is None:
        position = len(repository.catalogue_items(session, catalogue_id)) + 1
        existing = CatalogueItem(
            catalogue_id=catalogue_id,
            code=code,
            position=position,
            category="",
            name="",
            points=0,
            rules=[],
            evidence=[],
            lead_unit="",
            co_units=[],
        )
    existing.category = item_spec["category"]
    existing.name = item_spec["name"]
    existing.points = float(item_spec["points"])
    existing.rules = list(item_spec["rules"])
    existing.evidence = list(item_spec["evidence"])
    existing.lead_unit = item_spec["lead_unit"]
    existing.co_units = list(item_spec.get("co_units") or [])
    existing.data_source = item_spec.get("data_source") or "manual"
    session.add(existing)
    session.flush()
    _retotal(session, cat)
    return item_public(existing)


def delete_item(session: Session, caller: Caller, catalogue_id: int, code: str) -> None:
    require_role(caller, "admin", "office")
    cat = _editable(session, catalogue_id)
    item = repository.catalogue_item(session, catalogue_id, code)
    if item is None:
        raise errors.not_found("评估项目", code, "item_not_found")
    session.delete(item)
    session.flush()
    _retotal(session, cat)


def _retotal(session: Session, cat: Catalogue) -> None:
    assert cat.id is not None
    cat.total_points = round(sum(i.points for i in repository.catalogue_items(session, cat.id)), 2)
    session.add(cat)


def compare(session: Session, a_id: int, b_id: int) -> dict[str, Any]:
    """Item by item: added (in b only), removed (in a only), changed (points, name, rules, evidence, units)."""
    a = {i.code: i for i in repository.catalogue_items(session, get(session, a_id).id or 0)}
    b = {i.code: i for i in repository.catalogue_items(session, get(session, b_id).id or 0)}
    rows: list[dict[str, Any]] = []
    for code in sorted(set(a) | set(b), key=_code_key):
        old, new = a.get(code), b.get(code)
        if old is None and new is not None:
            rows.append(
                {
                    "code": code,
                    "change": "added",
                    "name": new.name,
                    "points_before": None,
                    "points_after": new.points,
                    "fields": [],
                }
            )
        elif new is None and old is not None:
            rows.append(
                {
                    "code": code,
                    "change": "removed",
                    "name": old.name,
                    "points_before": old.points,
                    "points_after": None,
                    "fields": [],
                }
            )
        elif old is not None and new is not None:
            fields = [
                f
                for f in ("category", "name", "points", "rules", "evidence", "lead_unit", "co_units", "data_source")
                if getattr(old, f) != getattr(new, f)
            ]
            if fields:
                rows.append(
                    {
                        "code": code,
                        "change": "changed",
                        "name": new.name,
                        "points_before": old.points,
                        "points_after": new.points,
                        "fields": fields,
                    }
                )
    totals = {"added": 0, "removed": 0, "changed": 0}
    for row in rows:
        totals[row["change"]] += 1
    return {"from_id": a_id, "to_id": b_id, "items": rows, "summary": totals}


def _code_key(code: str) -> tuple[Any, ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in code.split("."))


def set_alias(session: Session, caller: Caller, registry: RegistryPort, alias: str, unit_code: str) -> dict[str, str]:
    require_role(caller, "admin", "office")
    units = directory(session, registry)
    if unit_code not in units.units:
        raise InvalidInput.field("unit_code", f"登记台账中没有成员单位 {unit_code}", unit_code)
    row = repository.row(session, UnitAlias, alias) or UnitAlias(alias=alias, unit_code=unit_code)
    row.unit_code = unit_code
    session.add(row)
    return {"alias": alias, "unit_code": unit_code}
