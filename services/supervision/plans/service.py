"""The rules of teams, checklist templates and plans."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from sqlmodel import Session

from services.common import clock
from services.common.auth import Caller
from services.common.errors import Forbidden
from services.common.pagination import clamp_limit
from services.supervision import scope
from services.supervision.deps import jsonable, utc
from services.supervision.errors import conflict, invalid, not_found
from services.supervision.models import outbox
from services.supervision.plans import repository as repo
from services.supervision.plans import targets as choose
from services.supervision.plans.schemas import ChecklistIn, PlanIn, TeamIn
from services.supervision.vocab import TARGET_KINDS

# --- teams ------------------------------------------------------------------------------------


def team_public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("code", "name", "leader", "members", "counties")} | {
        "created_at": utc(row["created_at"]),
        "updated_at": utc(row["updated_at"]),
    }


def list_teams(session: Session, caller: Caller) -> list[dict[str, Any]]:
    scope.require_reader(caller)
    return [team_public(t) for t in repo.teams(session) if scope.sees_team(caller, t["code"])]


def get_team(session: Session, caller: Caller, code: str) -> dict[str, Any]:
    scope.require_reader(caller)
    row = repo.team(session, code)
    if row is None or not scope.sees_team(caller, code):
        raise not_found("督导组", code)
    return team_public(row)


def put_team(session: Session, caller: Caller, code: str, body: TeamIn) -> tuple[int, dict[str, Any]]:
    """Create or replace a team (201 / 200)."""
    scope.require_office(caller)
    if body.code != code:
        raise invalid("code", "请求体中的编号与地址中的编号不一致", body.code)
    now = clock.now()
    values = body.model_dump()
    existing = repo.team(session, code)
    if existing is None:
        repo.insert_team(session, values | {"created_at": now, "updated_at": now})
        status = 201
    else:
        repo.update_team(session, code, values | {"updated_at": now})
        status = 200
    outbox.emit(session, "team", "created" if status == 201 else "updated", code, jsonable(values))
    row = repo.team(session, code)
    assert row is not None
    return status, team_public(row)


# --- checklists -------------------------------------------------------------------------------


def checklist_public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "code", "version", "name", "target_kind", "state", "example", "items")} | {
        "target_kind_name": TARGET_KINDS.get(row["target_kind"], row["target_kind"]),
        "created_at": utc(row["created_at"]),
        "published_at": utc(row["published_at"]),
    }


def list_checklists(
    session: Session, caller: Caller, target_kind: str | None, state: str | None
) -> list[dict[str, Any]]:
    scope.require_reader(caller)
    return [checklist_public(r) for r in repo.checklists(session, target_kind, state)]


def get_checklist(session: Session, caller: Caller, checklist_id: int) -> dict[str, Any]:
    scope.require_reader(caller)
    row = repo.checklist(session, checklist_id)
    if row is None:
        raise not_found("检查表", checklist_id)
    return checklist_public(row)


def create_checklist(session: Session, caller: Caller, body: ChecklistIn, example: bool = False) -> dict[str, Any]:
    """A new draft: version 1 of a new code, or the next version of an existing one."""
    scope.require_office(caller)
    version = repo.latest_version(session, body.code) + 1
    new_id = repo.insert_checklist(
        session,
        {
            "code": body.code,
            "version": version,
            "name": body.name,
            "target_kind": body.target_kind,
            "state": "draft",
            "example": example,
            "items": [i.model_dump() for i in body.items],
            "created_at": clock.now(),
        },
    )
    outbox.emit(session, "checklist", "created", f"{body.code}@{version}", {"id": new_id, "version": version})
    return get_checklist(session, caller, new_id)


def update_checklist(session: Session, caller: Caller, checklist_id: int, body: ChecklistIn) -> dict[str, Any]:
    scope.require_office(caller)
    row = repo.checklist(session, checklist_id)
    if row is None:
        raise not_found("检查表", checklist_id)
    if row["state"] != "draft":
        raise conflict("已发布的检查表版本不能修改；请新建一个版本", code="checklist_published")
    if body.code != row["code"]:
        raise invalid("code", "不能修改模板编号", body.code)
    repo.update_checklist(
        session,
        checklist_id,
        {"name": body.name, "target_kind": body.target_kind, "items": [i.model_dump() for i in body.items]},
    )
    return get_checklist(session, caller, checklist_id)


def publish_checklist(session: Session, caller: Caller, checklist_id: int) -> dict[str, Any]:
    scope.require_office(caller)
    row = repo.checklist(session, checklist_id)
    if row is None:
        raise not_found("检查表", checklist_id)
    if row["state"] == "draft":
        repo.update_checklist(session, checklist_id, {"state": "published", "published_at": clock.now()})
        outbox.emit(session, "checklist", "published", f"{row['code']}@{row['version']}", {"id": checklist_id})
    return get_checklist(session, caller, checklist_id)


# --- plans ------------------------------------------------------------------------------------


def plan_public(row: dict[str, Any], counts: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    keys = ("id", "name", "starts_on", "ends_on", "team_code", "checklist_id", "selection")
    return {k: row[k] for k in keys} | {
        "per_inspector_per_day": row["per_inspector_per_day"],
        "state": row["state"],
        "target_count": counts[0],
        "inspected_count": counts[1],
        "created_by": row["created_by"],
        "created_at": utc(row["created_at"]),
    }


def visible_plan(session: Session, caller: Caller, plan_id: int) -> dict[str, Any]:
    """The plan, if the caller may see it (404 otherwise)."""
    scope.require_reader(caller)
    row = repo.plan(session, plan_id)
    if row is None or not scope.sees_team(caller, row["team_code"]):
        raise not_found("督导计划", plan_id)
    return row


def list_plans(
    session: Session, caller: Caller, team_code: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    scope.require_reader(caller)
    from services.supervision.models import plan_t

    limit = clamp_limit(limit)
    rows, next_cursor = repo.plans(session, scope.team_filter(caller, plan_t.c.team_code), team_code, cursor, limit)
    counts = repo.target_counts(session, [r["id"] for r in rows])
    return {"items": [plan_public(r, counts[r["id"]]) for r in rows], "next_cursor": next_cursor}


def get_plan(session: Session, caller: Caller, plan_id: int) -> dict[str, Any]:
    row = visible_plan(session, caller, plan_id)
    checklist = repo.checklist(session, row["checklist_id"])
    assert checklist is not None
    counts = repo.target_counts(session, [plan_id])[plan_id]
    return plan_public(row, counts) | {"checklist": checklist_public(checklist)}


def create_plan(session: Session, caller: Caller, body: PlanIn, cal: Any, peer: Any) -> dict[str, Any]:
    """Choose the targets from the registry, schedule them over the working days, store all."""
    scope.require_office(caller)
    team = repo.team(session, body.team_code)
    if team is None:
        raise invalid("team_code", "督导组不存在", body.team_code)
    checklist = repo.checklist(session, body.checklist_id)
    if checklist is None:
        raise invalid("checklist_id", "检查表不存在", body.checklist_id)
    if checklist["state"] != "published":
        raise invalid("checklist_id", "只能使用已发布的检查表版本", body.checklist_id)
    selection = body.selection.model_dump()
    if selection["seed"] is None and selection["sample_per_county"] is not None:
        selection["seed"] = secrets.randbelow(10**9)
    counties = selection["counties"] or team["counties"]
    if not counties and selection["source"] in ("site", "facility", "vehicle"):
        raise invalid("selection.counties", "请指定县区，或为督导组设置负责县区")
    _check_kind(selection, checklist["target_kind"])
    candidates = choose.fetch_candidates(peer, selection, counties)
    chosen = choose.sample(candidates, selection["sample_per_county"], selection["seed"] or 0)
    if not chosen:
        raise invalid("selection", "按所给条件在基础台账中没有找到检查对象")
    days = choose.workdays(cal, body.starts_on, body.ends_on)
    scheduled = choose.schedule(chosen, days, team["members"], body.per_inspector_per_day)
    plan_id = repo.insert_plan(
        session,
        {
            "name": body.name,
            "starts_on": body.starts_on,
            "ends_on": body.ends_on,
            "team_code": body.team_code,
            "checklist_id": body.checklist_id,
            "selection": selection | {"counties": counties},
            "per_inspector_per_day": body.per_inspector_per_day,
            "state": "scheduled",
            "created_by": caller.name or caller.sub,
            "created_at": clock.now(),
        },
    )
    repo.insert_targets(session, [t | {"plan_id": plan_id} for t in scheduled])
    outbox.emit(
        session,
        "plan",
        "created",
        str(plan_id),
        {"id": plan_id, "name": body.name, "team_code": body.team_code, "targets": len(scheduled)},
    )
    out = get_plan(session, caller, plan_id)
    warnings = (
        [w for w in {cal.warning(d) for d in (body.starts_on, body.ends_on)} if w] if hasattr(cal, "warning") else []
    )
    return out | {"warnings": warnings}


def _check_kind(selection: dict[str, Any], checklist_kind: str) -> None:
    source = selection["source"]
    family = checklist_kind.split(":", 1)[0]
    if family != source:
        raise invalid("selection.source", f"检查表适用于“{TARGET_KINDS[checklist_kind]}”，与检查对象来源不一致")
    if ":" in checklist_kind:
        kind = checklist_kind.split(":", 1)[1]
        if selection["kinds"] and selection["kinds"] != [kind]:
            raise invalid("selection.kinds", f"检查表只适用于“{TARGET_KINDS[checklist_kind]}”")
        selection["kinds"] = [kind]


def finish_plan(session: Session, caller: Caller, plan_id: int) -> dict[str, Any]:
    visible_plan(session, caller, plan_id)
    scope.require_office(caller)
    repo.update_plan(session, plan_id, {"state": "finished", "finished_at": clock.now()})
    outbox.emit(session, "plan", "finished", str(plan_id), {"id": plan_id})
    return get_plan(session, caller, plan_id)


def target_public(row: dict[str, Any], done: dict[str, str]) -> dict[str, Any]:
    keys = ("id", "target_code", "kind", "name", "county_code", "lat", "lng", "scheduled_on", "inspector")
    return {k: row[k] for k in keys} | {"inspection": done.get(row["target_code"])}


def list_targets(
    session: Session,
    caller: Caller,
    plan_id: int,
    *,
    inspector: str | None,
    day: date | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    visible_plan(session, caller, plan_id)
    limit = clamp_limit(limit)
    rows, next_cursor = repo.targets(session, plan_id, inspector=inspector, day=day, cursor=cursor, limit=limit)
    done = repo.submitted_inspections(session, plan_id, [r["target_code"] for r in rows])
    return {"items": [target_public(r, done) for r in rows], "next_cursor": next_cursor}


def my_day(session: Session, caller: Caller, inspector: str | None, day: date | None) -> dict[str, Any]:
    """An inspector's list for a day (today by default).

    Without ``inspector`` it is the caller's own list: the signed token carries the signed-in
    user's login name (``Caller.username``). An inspector may ask for any member of their own
    team (team scope), the office for anyone; an API key has no list of its own and names one.
    """
    scope.require_reader(caller)
    who = inspector or caller.username
    if not who:
        raise invalid("inspector", "请指定督导员（用户名）")
    if caller.role == "inspector":
        team = repo.team(session, caller.team_code or "")
        if team is None or who not in team["members"]:
            raise Forbidden("督导员只能查看本组组员的检查清单")
    day = day or clock.today()
    out = []
    for r in repo.day_list(session, who, day):
        done = repo.submitted_inspections(session, r["plan_id"], [r["target_code"]])
        out.append(target_public(r, done) | {"plan_id": r["plan_id"]})
    return {"inspector": who, "day": day, "items": out}
