"""What the registry pages share: the three record kinds described as data, bound per request to
the registry's Chinese labels (``GET /meta``, cached), and the scope helpers every route uses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from starlette.convertors import Convertor, register_url_convertor

from gateway.clients import Division, RecordKind, RegistryMeta
from gateway.security import Principal
from gateway.services import Services
from services.common.errors import Forbidden

# --- labels ------------------------------------------------------------------------------------
# The Chinese names of values (categories, kinds, energy types, states, ...) are the registry's,
# served at ``GET /meta`` and cached by the gateway (``RegistryClient.meta``). A kind's filters and
# select fields name the label table they take their options from (``Choices``); a request binds
# the kind to the labels (``Labels.spec``).


@dataclass(frozen=True)
class Choices:
    table: str  # a label table of ``RegistryMeta``: "categories", "energy_types", ...
    keys: str | None = None  # the ``RegistryMeta`` list of the values allowed here, all by default


CATEGORIES = Choices("categories")
VEHICLE_CATEGORY_CHOICES = Choices("categories", "vehicle_categories")
FACILITY_CATEGORY_CHOICES = Choices("categories", "facility_categories")
ENERGY_CHOICES = Choices("energy_types")
SITE_KIND_CHOICES = Choices("site_kinds")
FACILITY_KIND_CHOICES = Choices("facility_kinds")
STATUS_CHOICES = Choices("statuses")
# Which label table a field's value is read with.
VALUE_TABLES: dict[str, dict[str, str]] = {
    "vehicles": {"category": "categories", "energy_type": "energy_types", "status": "statuses"},
    "facilities": {"category": "categories", "kind": "facility_kinds", "status": "statuses"},
    "sites": {"kind": "site_kinds", "status": "statuses"},
}

# Roles that register and change records (the registry decides again; a county only its own).
EDITOR_ROLES = frozenset({"admin", "office", "county"})
PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 20
# The registry's ``sort`` values and how the list's select names them; the first is the default.
CODE_SORTS = (("code", "统一编号↑"), ("-code", "统一编号↓"), ("-updated_at", "最近更新"))
NAMED_SORTS = (*CODE_SORTS, ("name", "名称"))
DEFAULT_SORT = "code"


# --- the record kinds, as data -----------------------------------------------------------------


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    widget: str = "text"  # text, number, date, select, checkbox, textarea, street, community, county
    choices: Choices | None = None
    required: bool = False
    hint: str = ""
    create_only: bool = False
    options: tuple[tuple[str, str], ...] = ()  # (value, label) of ``choices``, once bound


@dataclass(frozen=True)
class Filter:
    name: str
    label: str
    choices: Choices
    options: tuple[tuple[str, str], ...] = ()  # once bound


@dataclass(frozen=True)
class KindSpec:
    kind: RecordKind
    label: str  # 车辆
    noun: str  # 辆 / 个 (for counts)
    title_field: str  # the field that names a record (plate, name)
    search_hint: str
    filters: tuple[Filter, ...]
    form: tuple[FormField, ...]
    # (field, label) shown on the detail page, in order
    detail: tuple[tuple[str, str], ...]
    columns: tuple[tuple[str, str], ...] = field(default=())
    sorts: tuple[tuple[str, str], ...] = CODE_SORTS
    labels_of: Labels | None = field(default=None, compare=False, repr=False)  # set by ``Labels.spec``

    @property
    def values(self) -> Labels:
        """The labels this spec was bound to (``Labels.spec``)."""
        assert self.labels_of is not None, "KindSpec used before Labels.spec() bound it"
        return self.labels_of

    def display(self, name: str, value: Any, county_names: dict[str, str] | None = None) -> str:
        return self.values.display(self.kind, name, value, county_names)

    @property
    def path(self) -> str:
        return f"/registry/{self.kind}"

    @property
    def by_street(self) -> bool:
        """Sites and facilities lie in a street: their lists filter by it."""
        return any(f.widget == "street" for f in self.form)

    @property
    def labels(self) -> dict[str, str]:
        out = dict(self.detail)
        out.update({f.name: f.label for f in self.form})
        return out


STATUS_FILTER = Filter("status", "状态", STATUS_CHOICES)
COMMON_DETAIL = (
    ("status", "状态"),
    ("external_id", "县区系统编号"),
    ("created_at", "登记时间"),
    ("updated_at", "最后修改"),
    ("decommissioned_at", "注销时间"),
    ("version", "版本"),
)
# A list column's heading where the detail page's is too long for it.
COLUMN_LABELS = {"county_code": "县区", "covered": "分类投放"}


def kind_spec(
    *,
    form: tuple[FormField, ...],
    columns: str,
    first: str = "",
    detail_labels: dict[str, str] | None = None,
    **spec: Any,
) -> KindSpec:
    """A kind whose detail page shows its code, its form's fields (``first`` ahead of the rest, under
    the form's labels unless ``detail_labels`` says otherwise) and ``COMMON_DETAIL``; its list shows
    ``columns``, the fields named in that order, and filters by its selects and the state."""
    relabel = detail_labels or {}
    fields = [(f.name, relabel.get(f.name, f.label)) for f in form if f.name != "external_id"]
    fields.sort(key=lambda pair: pair[0] != first)
    detail = (("code", "统一编号"), *fields, *COMMON_DETAIL)
    heading = {**dict(detail), **COLUMN_LABELS}
    selects = [Filter(f.name, f.label, f.choices) for f in form if f.widget == "select" and f.choices]
    return KindSpec(
        form=form,
        filters=(*selects, STATUS_FILTER),
        detail=detail,
        columns=tuple((n, heading[n]) for n in columns.split()),
        **spec,
    )


VEHICLES = kind_spec(
    kind="vehicles",
    label="车辆",
    noun="辆",
    title_field="plate_number",
    search_hint="统一编号或车牌号的开头",
    form=(
        FormField("plate_number", "车牌号", required=True, hint="7 位普通号牌或 8 位新能源号牌，如 赣AD12345"),
        FormField("category", "垃圾类别", "select", VEHICLE_CATEGORY_CHOICES, required=True),
        FormField("energy_type", "能源类型", "select", ENERGY_CHOICES, required=True),
        FormField("capacity_tonnes", "核定载重（吨）", "number"),
        FormField("operator_name", "运营单位", required=True),
        FormField("county_code", "所属县区", "county", required=True, create_only=True),
        FormField("road_permit_expires_on", "道路运输证有效期至", "date"),
        FormField("inspection_due_on", "下次年检日期", "date"),
        FormField("gps_device_id", "车载定位终端编号"),
        FormField("external_id", "县区系统编号"),
    ),
    columns="code plate_number category energy_type capacity_tonnes operator_name county_code status",
)

# Facilities and sites are named: counted with 个, found and sorted by name, the name first on the page.
NAMED: dict[str, Any] = {
    "noun": "个",
    "title_field": "name",
    "search_hint": "统一编号开头，或名称中的文字",
    "sorts": NAMED_SORTS,
    "first": "name",
}

FACILITIES = kind_spec(
    kind="facilities",
    label="设施",
    form=(
        FormField("kind", "设施类型", "select", FACILITY_KIND_CHOICES, required=True),
        FormField(
            "category",
            "垃圾类别",
            "select",
            FACILITY_CATEGORY_CHOICES,
            hint="不选则按设施类型确定（桶组、投放点、站点为多类别）",
        ),
        FormField("name", "名称", required=True),
        FormField("county_code", "所属县区", "county", required=True, create_only=True),
        FormField("street_code", "街道（乡镇）", "street"),
        FormField("community_code", "社区（村）", "community"),
        FormField("site_code", "所属管理对象编号", hint="如 360102-S000001，可不填"),
        FormField("address", "地址"),
        FormField("lat", "纬度（WGS-84）", "number", required=True, hint="如 28.6829"),
        FormField("lng", "经度（WGS-84）", "number", required=True, hint="如 115.8986"),
        FormField("capacity", "设计能力", "number", hint="桶组、投放箱为升；站点与处理设施为吨/日"),
        FormField("external_id", "县区系统编号"),
    ),
    detail_labels={"site_code": "所属管理对象"},
    columns="code name kind category county_code address status",
    **NAMED,
)

SITES = kind_spec(
    kind="sites",
    label="管理对象",
    form=(
        FormField("kind", "类型", "select", SITE_KIND_CHOICES, required=True),
        FormField("name", "名称", required=True),
        FormField("county_code", "所属县区", "county", required=True, create_only=True),
        FormField("street_code", "街道（乡镇）", "street", required=True),
        FormField("community_code", "社区（村）", "community"),
        FormField("address", "地址"),
        FormField("lat", "纬度（WGS-84）", "number"),
        FormField("lng", "经度（WGS-84）", "number"),
        FormField("covered", "已开展分类投放", "checkbox"),
        FormField("covered_since", "开始分类日期", "date", hint="已开展分类时填写；不填为今天"),
        FormField("sorted_collection", "已分类收集", "checkbox"),
        FormField("sorted_transport", "已分类运输", "checkbox"),
        FormField("external_id", "县区系统编号"),
    ),
    columns="code name kind county_code covered address status",
    **NAMED,
)

KINDS: dict[str, KindSpec] = {spec.kind: spec for spec in (VEHICLES, FACILITIES, SITES)}


class Labels:
    """The registry's labels (``GET /meta``) as the pages use them; one per fetched answer."""

    def __init__(self, meta: RegistryMeta) -> None:
        self.meta = meta
        self._specs = {kind: self._bind(spec) for kind, spec in KINDS.items()}

    def table(self, name: str) -> dict[str, str]:
        table: dict[str, str] = getattr(self.meta, name)
        return table

    def options(self, choices: Choices) -> tuple[tuple[str, str], ...]:
        table = self.table(choices.table)
        keys: list[str] = getattr(self.meta, choices.keys) if choices.keys else list(table)
        return tuple((k, table.get(k, k)) for k in keys)

    def _bind(self, spec: KindSpec) -> KindSpec:
        return replace(
            spec,
            filters=tuple(replace(f, options=self.options(f.choices)) for f in spec.filters),
            form=tuple(replace(f, options=self.options(f.choices)) if f.choices else f for f in spec.form),
            labels_of=self,
        )

    def spec(self, kind: str) -> KindSpec:
        """The record kind with its filters' and selects' options in Chinese."""
        return self._specs[kind]

    def display(self, kind: str, name: str, value: Any, county_names: dict[str, str] | None = None) -> str:
        """A value as a person reads it: Chinese labels, 是/否, county names."""
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return "是" if value else "否"
        table = VALUE_TABLES.get(kind, {}).get(name)
        if table is not None:
            return self.table(table).get(str(value), str(value))
        if name == "county_code" and county_names:
            return f"{county_names.get(str(value), '')}（{value}）" if value in county_names else str(value)
        if isinstance(value, float):
            return number(value)
        return str(value)


_labels: Labels | None = None


def labels_of(meta: RegistryMeta) -> Labels:
    """The ``Labels`` of a meta answer, built once per answer (the client caches the answer)."""
    global _labels
    if _labels is None or _labels.meta is not meta:
        _labels = Labels(meta)
    return _labels


async def labels(services: Services) -> Labels:
    return labels_of(await services.registry.meta())


async def bound_spec(services: Services, kind: str) -> KindSpec:
    return (await labels(services)).spec(kind)


# --- record codes in URLs ------------------------------------------------------------------------


class RecordCodeConvertor(Convertor[str]):
    """A unified number always holds a digit (its county code and counter), so the words next to it
    under /registry/<kind>/ (new, export, ...) never match a record route."""

    regex = r"[^/]*[0-9][^/]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("rcode", RecordCodeConvertor())


# --- who asks, and what they may do -----------------------------------------------------------


def can_edit(principal: Principal) -> bool:
    return principal.role in EDITOR_ROLES


def require_editor(principal: Principal) -> None:
    """Readers get the 403 page before anything reaches the registry (which would refuse too)."""
    if not can_edit(principal):
        raise Forbidden("此角色只能查看台账，不能登记、修改或注销")


def own_county(principal: Principal) -> str | None:
    """The only county a county user sees; ``None`` for city-wide roles."""
    return principal.county_code if principal.role == "county" else None


async def counties(services: Services, principal: Principal) -> list[Division]:
    """The counties the user may pick: all of them, or a county user's own."""
    items = await services.registry.counties()
    mine = own_county(principal)
    return [d for d in items if mine is None or d.code == mine]


# --- showing values ----------------------------------------------------------------------------

_FIELD_PREFIX = re.compile(r"^[a-z_]+（[^）]*）：")


def field_message(message: str) -> str:
    """The registry names the field first (``plate_number（车牌号）：...``); next to the field that is noise."""
    return _FIELD_PREFIX.sub("", message, count=1)


def number(value: float) -> str:
    """All the digits (coordinates need them), without a trailing ``.0``."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def form_value(value: Any) -> str:
    """A record value as a form field holds it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float):
        return number(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
