"""Vehicles, facilities and sites: lists with filters and cursor pages, detail with history,
create / edit forms and decommission. One set of routes per kind, driven by ``common.KINDS``."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from markupsafe import Markup, escape
from starlette.datastructures import FormData
from starlette.responses import Response

from gateway.clients import Division, HistoryEntry, Record
from gateway.coords import DEFAULT_SYSTEM, SYSTEMS, to_wgs84
from gateway.deps import PageUser, ServicesDep
from gateway.registry_pages.common import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_SORT,
    KINDS,
    PAGE_SIZES,
    KindSpec,
    bound_spec,
    can_edit,
    counties,
    field_message,
    form_value,
    own_county,
    require_editor,
)
from gateway.render import is_htmx, redirect, render
from gateway.security import Principal
from gateway.services import Services
from services.common import clock
from services.common.errors import AppError, Conflict, InvalidInput

router = APIRouter()

FIRST_PAGE = "~"  # the first page in the trail of cursors (it has no cursor)
HIDDEN_HISTORY_FIELDS = {"version", "updated_at", "created_at", "reason"}


# --- lists ---------------------------------------------------------------------------------------


def list_state(spec: KindSpec, principal: Principal, request: Request) -> dict[str, Any]:
    """The list's filters as read from the URL; unknown values are dropped, a county user's county forced."""
    params = request.query_params
    state: dict[str, str] = {}
    mine = own_county(principal)
    county = params.get("county", "").strip()
    state["county"] = mine or (county if county.isdigit() and len(county) == 6 else "")
    for f in spec.filters:
        value = params.get(f.name, "")
        state[f.name] = value if value in dict(f.options) else ""
    street = params.get("street", "").strip()
    # A street of the chosen county only (a county change drops it); none for vehicles.
    under = street.isdigit() and len(street) == 9 and (not state["county"] or street[:6] == state["county"])
    state["street"] = street if spec.by_street and under else ""
    if state["street"] and not state["county"]:
        state["county"] = state["street"][:6]
    state["q"] = params.get("q", "").strip()[:64]
    job = params.get("import_job", "").strip()
    state["import_job"] = job if job.isalnum() and len(job) <= 64 else ""  # what one import registered
    size = params.get("size", "")
    state["size"] = size if size.isdigit() and int(size) in PAGE_SIZES else str(DEFAULT_PAGE_SIZE)
    sort = params.get("sort", "")
    state["sort"] = sort if sort in dict(spec.sorts) else DEFAULT_SORT
    return state


def _url(path: str, params: dict[str, str]) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{path}?{query}" if query else path


def _row_cells(spec: KindSpec, record: Record, county_names: dict[str, str]) -> Markup:
    """One table row's cells as HTML, built in one pass: the list page's hot loop (a Jinja macro
    call per cell cost more than the registry call behind the page)."""
    cells = []
    for name, _label in spec.columns:
        value = record.get(name)
        if name == "code":
            cells.append(
                f'<td class="col-code"><a href="{spec.path}/{escape(record.code)}">{escape(record.code)}</a></td>'
            )
        elif name == "category":
            if value:
                text = escape(spec.values.meta.categories.get(value, value))
                cells.append(
                    f'<td><span class="cat cat-{escape(value)}"><span class="cat-dot" aria-hidden="true"></span>'
                    f"{text}</span></td>"
                )
            else:
                cells.append("<td>—</td>")
        elif name == "status":
            cells.append(
                '<td><span class="badge badge-ok">在用</span></td>'
                if value == "active"
                else '<td><span class="badge badge-off">已注销</span></td>'
            )
        elif name == "county_code":
            cells.append(f"<td>{escape(county_names.get(value, value))}</td>")
        elif name == "covered":
            if value:
                since = record.get("covered_since")
                extra = f' <span class="muted small">自 {escape(since)}</span>' if since else ""
                cells.append(f'<td><span class="badge badge-ok">已覆盖</span>{extra}</td>')
            else:
                cells.append('<td><span class="badge badge-warn">未覆盖</span></td>')
        elif name == "plate_number":
            cells.append(f'<td><span class="plate">{escape(value)}</span></td>')
        else:
            cells.append(f'<td class="col-{name}">{escape(spec.display(name, value))}</td>')
    return Markup("".join(cells))


async def _list_context(request: Request, user: Principal, services: Services, spec: KindSpec) -> dict[str, Any]:
    state = list_state(spec, user, request)
    cursor = request.query_params.get("cursor", "")
    trail = [c for c in request.query_params.get("trail", "").split(".") if c]
    query = {**_matching(spec, state), "sort": state["sort"], "limit": int(state["size"])}
    notice = None
    # The county choices and the page come from two registry calls: make them side by side.
    counties_task = asyncio.ensure_future(counties(services, user))
    streets_task = asyncio.ensure_future(_streets(services, spec, state["county"]))
    try:
        try:
            page = await services.registry.records(spec.kind, {**query, "cursor": cursor})
        except InvalidInput:
            if not cursor:
                raise
            # A cursor from an old link (or typed by hand): start again from the first page.
            notice = "分页位置已失效，已回到第一页"
            cursor, trail = "", []
            page = await services.registry.records(spec.kind, query)
    except BaseException:
        counties_task.cancel()
        streets_task.cancel()
        raise
    shown = {k: v for k, v in state.items() if not (k == "county" and own_county(user))}
    if shown["size"] == str(DEFAULT_PAGE_SIZE):
        shown["size"] = ""
    if shown["sort"] == DEFAULT_SORT:
        shown["sort"] = ""
    next_url = prev_url = None
    if page.next_cursor:
        next_url = _url(
            spec.path, {**shown, "cursor": page.next_cursor, "trail": ".".join([*trail, cursor or FIRST_PAGE])}
        )
    if trail:
        prev_cursor = trail[-1]
        prev_url = _url(
            spec.path,
            {**shown, "cursor": "" if prev_cursor == FIRST_PAGE else prev_cursor, "trail": ".".join(trail[:-1])},
        )
    export_params = {k: v for k, v in shown.items() if k != "size"}
    here = _url(spec.path, {**shown, "cursor": cursor, "trail": ".".join(trail)})
    all_counties = await counties_task
    county_names = {d.code: d.name for d in all_counties}
    return {
        "spec": spec,
        "state": state,
        "records": page.items,
        "rows": [(r, _row_cells(spec, r, county_names)) for r in page.items],
        "page_no": len(trail) + 1,
        "here": here,
        "next_url": next_url,
        "prev_url": prev_url,
        "first_url": _url(spec.path, shown) if trail else None,
        "export_url": _url(f"{spec.path}/export", export_params),
        "export_csv_url": _url(f"{spec.path}/export", {**export_params, "format": "csv"}),
        # How many match comes a moment later from ``count_url`` (one more query that the page
        # itself need not wait for).
        "count_url": _url(f"{spec.path}/count", {k: shown[k] for k in _count_keys(spec) if shown.get(k)}),
        "streets": await streets_task,
        "oob_filters": is_htmx(request),
        "import_url": f"/registry/imports?kind={spec.kind}",
        "counties": all_counties,
        "county_names": county_names,
        "show_county_filter": own_county(user) is None,
        "can_edit": can_edit(user),
        "page_sizes": PAGE_SIZES,
        "notice": notice,
        "category_labels": spec.values.meta.categories,
        "display": spec.values.display,
        "filtered": any(
            state[k] for k in state if k not in ("size", "sort") and not (k == "county" and own_county(user))
        ),
    }


def _matching(spec: KindSpec, state: dict[str, str]) -> dict[str, str | int | None]:
    """The registry's list filters for the list state: what decides which records match."""
    return {
        "county": state["county"],
        "street": state["street"] or None,
        "import_job": state["import_job"] or None,
        **{f.name: state[f.name] for f in spec.filters},
        "q": state["q"],
    }


def _count_keys(spec: KindSpec) -> tuple[str, ...]:
    """The list state that decides how many records match (not the page, size or order)."""
    return ("county", "street", "import_job", "q", *(f.name for f in spec.filters))


async def count_fragment(request: Request, user: Principal, services: Services, spec: KindSpec) -> Response:
    """``共 N 个设施 · `` for the list's filters (``约`` when the registry estimates), loaded by the page."""
    state = list_state(spec, user, request)
    page = await services.registry.records(spec.kind, {**_matching(spec, state), "limit": 1, "count": "true"})
    ctx = {"spec": spec, "total": page.total, "total_estimated": page.total_estimated}
    return render(request, "registry/_count.html", ctx)


async def _streets(services: Services, spec: KindSpec, county: str) -> list[Division]:
    """The chosen county's streets, for the street filter (none before a county is chosen)."""
    if not (spec.by_street and county):
        return []
    return await services.registry.streets(county)


async def list_page(request: Request, user: Principal, services: Services, spec: KindSpec) -> Response:
    ctx = await _list_context(request, user, services, spec)
    # A history restore after a cache miss asks with HX-Request too, but needs the whole page.
    restore = request.headers.get("hx-history-restore-request") == "true"
    # The address bar gets the tidy URL of this state (no empty filters), whatever the form sent.
    headers = {"HX-Push-Url": ctx["here"]} if is_htmx(request) and not restore else None
    return render(request, "registry/list.html", ctx, block=None if restore else "records", headers=headers)


# --- detail ----------------------------------------------------------------------------------


def _history_value(spec: KindSpec, name: str, value: Any, county_names: dict[str, str]) -> str:
    if isinstance(value, str) and name.endswith("_at"):
        try:
            return clock.local(datetime.fromisoformat(value.replace("Z", "+00:00"))).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    return spec.display(name, value, county_names)


def history_rows(spec: KindSpec, entries: list[HistoryEntry], county_names: dict[str, str]) -> list[dict[str, Any]]:
    """Newest first; each with the fields that changed as (label, before, after)."""
    labels = spec.labels
    rows = []
    for entry in reversed(entries):
        before, after = entry.before or {}, entry.after or {}
        changes = []
        if entry.action != "created":
            for key in after:
                if key in HIDDEN_HISTORY_FIELDS or before.get(key) == after.get(key):
                    continue
                changes.append(
                    (
                        labels.get(key, key),
                        _history_value(spec, key, before.get(key), county_names),
                        _history_value(spec, key, after.get(key), county_names),
                    )
                )
        rows.append({"entry": entry, "changes": changes, "reason": after.get("reason")})
    return rows


async def _division_names(services: Services, record: Record) -> dict[str, str]:
    """Names of the record's street and community (their codes otherwise)."""
    names: dict[str, str] = {}
    client = services.registry
    street = record.get("street_code")
    if street:
        names.update({d.code: d.name for d in await client.divisions(parent=record.county_code)})
        if record.get("community_code"):
            names.update({d.code: d.name for d in await client.divisions(parent=street)})
    return names


TOASTS = {
    "created": "已登记，统一编号 {code}",
    "saved": "已保存修改",
    "unchanged": "没有修改任何内容",
    "decommissioned": "已注销 {code}",
}


async def detail_page(request: Request, user: Principal, services: Services, spec: KindSpec, code: str) -> Response:
    client = services.registry
    record = await client.record(spec.kind, code)
    entries = await client.history(spec.kind, code)
    all_counties = await counties(services, user)
    county_names = {d.code: d.name for d in all_counties}
    division_names = await _division_names(services, record)
    fields = []
    for name, label in spec.detail:
        value = record.get(name)
        fields.append({"name": name, "label": label, "value": value, "division": division_names.get(str(value))})
    done = request.query_params.get("done", "")
    message = TOASTS[done].format(code=record.code) if done in TOASTS else None
    return render(
        request,
        "registry/detail.html",
        {
            "spec": spec,
            "record": record,
            "title": record.get(spec.title_field) or record.code,
            "fields": fields,
            "history": history_rows(spec, entries, county_names),
            "county_names": county_names,
            "can_edit": can_edit(user) and record.status == "active",
            "display": spec.values.display,
            "category_labels": spec.values.meta.categories,
            "action_labels": spec.values.meta.actions,
            "toast": (message, "success") if message else None,
        },
    )


# --- forms -----------------------------------------------------------------------------------


async def _form_context(
    user: Principal,
    services: Services,
    spec: KindSpec,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    record: Record | None = None,
) -> dict[str, Any]:
    client = services.registry
    county = own_county(user) or (record.county_code if record else values.get("county_code", ""))
    streets: list[Division] = []
    communities: list[Division] = []
    needs_divisions = any(f.widget in {"street", "community"} for f in spec.form)
    if needs_divisions and county:
        streets = await client.divisions(parent=county)
        if values.get("street_code"):
            communities = await client.divisions(parent=values["street_code"])
    fields = [f for f in spec.form if not (record is not None and f.create_only)]
    if own_county(user):
        fields = [f for f in fields if f.widget != "county"]
    action = f"{spec.path}/{record.code}/edit" if record else f"{spec.path}/new"
    return {
        "spec": spec,
        "record": record,
        "fields": fields,
        "values": values,
        "errors": errors,
        "action": action,
        "counties": await counties(services, user) if not own_county(user) and record is None else [],
        "county": county,
        "streets": streets,
        "communities": communities,
        "cancel_url": f"{spec.path}/{record.code}" if record else spec.path,
        "coord_systems": list(SYSTEMS.items()),
    }


def _errors_of(exc: AppError, spec: KindSpec, fields: set[str]) -> dict[str, str]:
    """The registry's ``details[].field`` messages by form field; the rest as one form message."""
    errors: dict[str, str] = {}
    others = []
    for detail in exc.details:
        name = (detail.field or "").split(".")[0]
        if name in fields:
            errors.setdefault(name, field_message(detail.message))
        else:
            others.append(detail.message)
    if others or not errors:
        errors["form"] = "；".join(others) if others else exc.message
    elif errors:
        errors["form"] = "提交的数据有误，请按提示修改标出的字段"
    return errors


def _posted(form: FormData, spec: KindSpec) -> dict[str, str]:
    values = {}
    for f in spec.form:
        raw = form.get(f.name)
        values[f.name] = raw.strip() if isinstance(raw, str) else ""
    return values


def _coordinate(value: float) -> str:
    """A converted coordinate as the form holds it: 7 decimals (about 1 cm), no trailing zeros."""
    return f"{value:.7f}".rstrip("0").rstrip(".")


def with_wgs84(form: FormData, values: dict[str, str]) -> dict[str, str]:
    """Coordinates copied from 高德 / 腾讯 (GCJ-02) or 百度 (BD-09) maps, as the system chosen beside
    the fields says, turned into the WGS-84 the registry stores. ``values["coord_system"]`` is what
    the form shows next: WGS-84 once converted, the choice kept when the numbers could not be read
    (the registry then names the field)."""
    raw = form.get("coord_system")
    system = raw if isinstance(raw, str) and raw in SYSTEMS else DEFAULT_SYSTEM
    if "lat" not in values or system == DEFAULT_SYSTEM:
        return {**values, "coord_system": DEFAULT_SYSTEM}
    try:
        lat, lng = float(values["lat"]), float(values["lng"])
    except ValueError:
        return {**values, "coord_system": system}
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        return {**values, "coord_system": system}
    wlat, wlng = to_wgs84(system, lat, lng)
    return {**values, "lat": _coordinate(wlat), "lng": _coordinate(wlng), "coord_system": DEFAULT_SYSTEM}


def _json_value(widget: str, value: str) -> Any:
    if widget == "checkbox":
        return bool(value)
    return value or None


def _form_response(request: Request, ctx: dict[str, Any], *, failed: bool) -> Response:
    # htmx 2 does not swap 4xx answers: an htmx submit gets its form back with 200.
    status = 422 if failed and not is_htmx(request) else 200
    return render(request, "registry/form.html", ctx, block="form", status_code=status)


async def new_form(request: Request, user: Principal, services: Services, spec: KindSpec) -> Response:
    require_editor(user)
    ctx = await _form_context(user, services, spec, values={}, errors={})
    return render(request, "registry/form.html", ctx)


async def create(request: Request, user: Principal, services: Services, spec: KindSpec) -> Response:
    require_editor(user)
    form = await request.form()
    values = with_wgs84(form, _posted(form, spec))
    body: dict[str, Any] = {}
    for f in spec.form:
        if f.widget == "county" and own_county(user):
            continue
        value = _json_value(f.widget, values[f.name])
        if value is not None:
            body[f.name] = value
    try:
        record = await services.registry.create(spec.kind, body)
    except (InvalidInput, Conflict) as exc:
        errors = _errors_of(exc, spec, {f.name for f in spec.form})
        if not own_county(user) and not values.get("county_code"):
            # The registry checks the county only once the body is valid: say it in the same round.
            errors.setdefault("county_code", "请选择所属县区")
        ctx = await _form_context(user, services, spec, values=values, errors=errors)
        return _form_response(request, ctx, failed=True)
    return redirect(request, f"{spec.path}/{record.code}?done=created")


async def edit_form(request: Request, user: Principal, services: Services, spec: KindSpec, code: str) -> Response:
    require_editor(user)
    record = await services.registry.record(spec.kind, code)
    if record.status != "active":
        raise Conflict(f"{spec.label} {record.code} 已注销，不能修改")
    values = {f.name: form_value(record.get(f.name)) for f in spec.form}
    ctx = await _form_context(user, services, spec, values=values, errors={}, record=record)
    return render(request, "registry/form.html", ctx)


async def update(request: Request, user: Principal, services: Services, spec: KindSpec, code: str) -> Response:
    require_editor(user)
    client = services.registry
    record = await client.record(spec.kind, code)
    form = await request.form()
    values = with_wgs84(form, _posted(form, spec))
    body: dict[str, Any] = {}
    for f in spec.form:
        if f.create_only:
            continue
        if values[f.name] != form_value(record.get(f.name)):  # only what changed: the history says what
            body[f.name] = _json_value(f.widget, values[f.name])
    if not body:
        return redirect(request, f"{spec.path}/{record.code}?done=unchanged")
    try:
        await client.update(spec.kind, code, body)
    except (InvalidInput, Conflict) as exc:
        errors = _errors_of(exc, spec, {f.name for f in spec.form})
        ctx = await _form_context(user, services, spec, values=values, errors=errors, record=record)
        return _form_response(request, ctx, failed=True)
    return redirect(request, f"{spec.path}/{record.code}?done=saved")


async def decommission(request: Request, user: Principal, services: Services, spec: KindSpec, code: str) -> Response:
    require_editor(user)
    form = await request.form()
    raw = form.get("reason")
    reason = raw.strip()[:255] if isinstance(raw, str) else ""
    record = await services.registry.decommission(spec.kind, code, reason or None)
    return redirect(request, f"{spec.path}/{record.code}?done=decommissioned")


# --- the routes, once per kind -------------------------------------------------------------------


def _add_routes(spec: KindSpec) -> None:
    """The routes of one kind; each binds the kind to the registry's labels first."""
    path, kind = spec.path, spec.kind

    async def _list(request: Request, user: PageUser, services: ServicesDep) -> Response:
        return await list_page(request, user, services, await bound_spec(services, kind))

    async def _count(request: Request, user: PageUser, services: ServicesDep) -> Response:
        return await count_fragment(request, user, services, await bound_spec(services, kind))

    async def _new(request: Request, user: PageUser, services: ServicesDep) -> Response:
        return await new_form(request, user, services, await bound_spec(services, kind))

    async def _create(request: Request, user: PageUser, services: ServicesDep) -> Response:
        return await create(request, user, services, await bound_spec(services, kind))

    async def _detail(request: Request, user: PageUser, services: ServicesDep, code: str) -> Response:
        return await detail_page(request, user, services, await bound_spec(services, kind), code)

    async def _edit(request: Request, user: PageUser, services: ServicesDep, code: str) -> Response:
        return await edit_form(request, user, services, await bound_spec(services, kind), code)

    async def _update(request: Request, user: PageUser, services: ServicesDep, code: str) -> Response:
        return await update(request, user, services, await bound_spec(services, kind), code)

    async def _decommission(request: Request, user: PageUser, services: ServicesDep, code: str) -> Response:
        return await decommission(request, user, services, await bound_spec(services, kind), code)

    name = spec.kind
    router.add_api_route(path, _list, methods=["GET"], name=f"{name}_list")
    router.add_api_route(f"{path}/count", _count, methods=["GET"], name=f"{name}_count")
    router.add_api_route(f"{path}/new", _new, methods=["GET"], name=f"{name}_new")
    router.add_api_route(f"{path}/new", _create, methods=["POST"], name=f"{name}_create")
    router.add_api_route(path + "/{code:rcode}", _detail, methods=["GET"], name=f"{name}_detail")
    router.add_api_route(path + "/{code:rcode}/edit", _edit, methods=["GET"], name=f"{name}_edit")
    router.add_api_route(path + "/{code:rcode}/edit", _update, methods=["POST"], name=f"{name}_update")
    router.add_api_route(
        path + "/{code:rcode}/decommission", _decommission, methods=["POST"], name=f"{name}_decommission"
    )


for _spec in KINDS.values():
    _add_routes(_spec)
