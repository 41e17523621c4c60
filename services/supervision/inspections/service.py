"""The rules of inspections: the tablet's PUT (same id, same body: accepted again; other body:
409), validation against the plan's checklist, submission (every named photo present, required
items answered), the items' verdicts and the findings the failed ones raise. A submitted
inspection is never edited; a correction is a new inspection that names the one it replaces."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.common import clock
from services.common.auth import Caller
from services.common.db import read_engine, session_scope
from services.common.errors import ErrorDetail, InvalidInput
from services.common.pagination import clamp_limit
from services.common.storage import FileStorage
from services.supervision import photo_repository as photo_repo
from services.supervision import photos as photo_store
from services.supervision import scope
from services.supervision.config import Settings
from services.supervision.deps import utc
from services.supervision.errors import conflict, invalid, not_found
from services.supervision.inspections import repository as repo
from services.supervision.inspections.schemas import InspectionIn
from services.supervision.models import outbox, plan_t
from services.supervision.plans import repository as plans_repo
from services.supervision.rectification import service as rectification

OWNER = "inspection"


def body_hash(body: InspectionIn) -> str:
    canonical = orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


get_row = repo.inspection
photo_owner = repo.photo_owner


def visible(session: Session | Connection, caller: Caller, client_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The inspection and its plan, if the caller may see them (404 otherwise)."""
    scope.require_reader(caller)
    row = get_row(session, client_id)
    plan = plans_repo.plan(session, row["plan_id"]) if row else None
    if row is None or plan is None or not scope.sees_team(caller, plan["team_code"]):
        raise not_found("检查", client_id)
    return row, plan


def public(
    session: Session,
    row: dict[str, Any],
    photos: list[dict[str, Any]] | None = None,
    findings: list[int] | None = None,
) -> dict[str, Any]:
    """The inspection as the API shows it; ``photos`` and ``findings`` when the caller has them
    already (read here otherwise)."""
    if photos is None:
        photos = photo_repo.photos_of(session, OWNER, row["id"])
    have = {p["photo_id"] for p in photos}
    named = [pid for a in row["answers"] for pid in a.get("photo_ids", [])]
    keys = ("client_id", "plan_id", "target_code", "county_code", "inspector", "answers", "latitude", "longitude")
    return {k: row[k] for k in keys} | {
        "accuracy_m": row["accuracy_m"],
        "taken_at": utc(row["taken_at"]),
        "received_at": utc(row["received_at"]),
        "state": row["state"],
        "submitted_at": utc(row["submitted_at"]),
        "replaces": row["replaces"],
        "replaced_by": row["replaced_by"],
        "passed": row["passed"],
        "score": row["score"],
        "photos": [photo_store.photo_public(p) for p in photos],
        "missing_photos": [pid for pid in named if pid not in have],
        "findings": repo.finding_ids(session, row["id"]) if findings is None else findings,
    }


def put(session: Session, caller: Caller, client_id: str, body: InspectionIn) -> tuple[int, dict[str, Any]]:
    """201 the first time, 200 for the same body again, 409 for another body under the id."""
    scope.require_inspector(caller)
    fingerprint = body_hash(body)
    existing = get_row(session, client_id)
    if existing is not None:
        return _replay(session, caller, existing, fingerprint)
    plan = plans_repo.plan(session, body.plan_id)
    if plan is None or not scope.sees_team(caller, plan["team_code"]):
        raise invalid("plan_id", "督导计划不存在或不属于本组", body.plan_id)
    if plan["state"] == "finished":
        raise conflict("该督导轮次已结束，不能再录入检查", code="plan_finished")
    target = plans_repo.target(session, body.plan_id, body.target_code)
    if target is None:
        raise invalid("target_code", "该对象不在本督导计划中", body.target_code)
    checklist = plans_repo.checklist(session, plan["checklist_id"])
    assert checklist is not None
    _check_answers(body, {i["id"]: i for i in checklist["items"]})
    if body.replaces:
        _check_replaces(session, body)
    values = {
        "client_id": client_id,
        "plan_id": body.plan_id,
        "target_code": body.target_code,
        "county_code": target["county_code"],
        "inspector": caller.name or caller.sub,
        "body_hash": fingerprint,
        "answers": [a.model_dump() for a in body.answers],
        "latitude": body.latitude,
        "longitude": body.longitude,
        "accuracy_m": body.accuracy_m,
        "taken_at": clock.as_utc(body.taken_at) if body.taken_at else None,
        "received_at": clock.now(),
        "state": "draft",
        "replaces": body.replaces,
    }
    try:
        with session.begin_nested():
            row = repo.insert_inspection(session, values)
    except IntegrityError:  # a concurrent resend of the same id won the race
        existing = get_row(session, client_id)
        assert existing is not None
        return _replay(session, caller, existing, fingerprint)
    outbox.emit(session, "inspection", "received", client_id, {"client_id": client_id, "plan_id": body.plan_id})
    return 201, public(session, row, photos=[], findings=[])  # new: its photos come after it


def _replay(session: Session, caller: Caller, existing: dict[str, Any], fingerprint: str) -> tuple[int, dict[str, Any]]:
    plan = plans_repo.plan(session, existing["plan_id"])
    if plan is None or not scope.sees_team(caller, plan["team_code"]):
        raise conflict("该检查编号已被使用", code="inspection_conflict")
    if existing["body_hash"] != fingerprint:
        raise conflict(
            f"检查 {existing['client_id']} 已以不同内容提交过；请保留草稿并联系分类办", code="inspection_conflict"
        )
    return 200, public(session, existing)


def _check_answers(body: InspectionIn, items: dict[str, dict[str, Any]]) -> None:
    details = []
    for n, answer in enumerate(body.answers):
        item = items.get(answer.item_id)
        field = f"answers.{n}.value"
        if item is None:
            details.append(
                ErrorDetail(field=f"answers.{n}.item_id", message="检查表中没有这一项", value=answer.item_id)
            )
            continue
        problem = _value_problem(item, answer.value)
        if problem:
            details.append(ErrorDetail(field=field, message=problem, value=_plain(answer.value)))
    if details:
        raise InvalidInput.of_details(details)


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else None


def _value_problem(item: dict[str, Any], value: Any) -> str | None:
    if value is None:
        return None
    kind = item["type"]
    if kind == "yesno" and not isinstance(value, bool):
        return "应为 true 或 false"
    if kind == "score" and (
        isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= item["max"]
    ):
        return f"应为 0 到 {item['max']} 之间的分数"
    if kind == "count" and (
        isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != int(value)
    ):
        return "应为非负整数"
    if kind == "text" and not isinstance(value, str):
        return "应为文字"
    if kind == "photo" and not isinstance(value, str | bool):
        return "拍照项不需要填写结果"
    return None


def _check_replaces(session: Session, body: InspectionIn) -> None:
    old = get_row(session, body.replaces or "")
    if old is None or old["plan_id"] != body.plan_id or old["target_code"] != body.target_code:
        raise invalid("replaces", "被更正的检查不存在，或不是同一计划、同一对象的检查", body.replaces)
    if old["state"] != "submitted":
        raise invalid("replaces", "只能更正已提交的检查；未提交的检查请直接修改草稿", body.replaces)
    if old["replaced_by"]:
        raise conflict(
            f"检查 {body.replaces} 已被 {old['replaced_by']} 更正", code="already_replaced", field="replaces"
        )


def item_verdict(item: dict[str, Any], answer: dict[str, Any] | None) -> bool | None:
    """Whether an answered item passes (None: not judged, e.g. text or unanswered)."""
    value = answer.get("value") if answer else None
    kind = item["type"]
    if kind == "photo":
        return bool(answer and answer.get("photo_ids")) if item.get("required") else None
    if value is None:
        return None
    if kind == "yesno":
        return bool(value)
    if kind == "score":
        floor = item.get("pass_min")
        return float(value) >= (floor if floor is not None else 0.6 * item["max"])
    if kind == "count":
        low, high = item.get("pass_min"), item.get("pass_max")
        return (low is None or value >= low) and (high is None or value <= high)
    return None


def _severity(item: dict[str, Any]) -> str:
    weight = float(item.get("weight") or 1)
    return "severe" if weight >= 3 else "major" if weight >= 2 else "minor"


def secure_photos(engine: Engine, storage: FileStorage, caller: Caller, client_id: str) -> Callable[[], None]:
    """Before a draft's submit: any of its photos (answered without waiting for the disk) a crash lost
    since they were sent forgotten, so that the submit answers 409 naming them and the tablet, which
    still holds them, sends them again; the others' sync started. Returns ``wait()``, which returns
    once they are on disk: the submit calls it before it commits."""
    scope.require_inspector(caller)
    with session_scope(read_engine(engine)) as session:
        row, _ = visible(session, caller, client_id)
    if row["state"] == "submitted":
        return _nothing
    _lost, wait = photo_store.make_durable_started(engine, storage, OWNER, row["id"])
    return wait


def _nothing() -> None:
    """Nothing to wait for."""


def submit(session: Session, settings: Settings, cal: Any, caller: Caller, client_id: str) -> dict[str, Any]:
    """Submit once (a second submit answers the same); 409 while a named photo is missing."""
    scope.require_inspector(caller)
    row, plan = visible(session, caller, client_id)
    if row["state"] == "submitted":
        return public(session, row)
    photos = photo_repo.photos_of(session, OWNER, row["id"])
    have = {p["photo_id"]: p["id"] for p in photos}
    missing = [pid for a in row["answers"] for pid in a.get("photo_ids", []) if pid not in have]
    if missing:
        raise conflict(f"还有 {len(missing)} 张照片未上传：{'、'.join(missing[:10])}", code="photos_missing")
    checklist = plans_repo.checklist(session, plan["checklist_id"])
    target = plans_repo.target(session, plan["id"], row["target_code"])
    assert checklist is not None and target is not None
    answers = {a["item_id"]: a for a in row["answers"]}
    unanswered = [
        i["label"]
        for i in checklist["items"]
        if i.get("required")
        and i["type"] != "text"
        and (answers.get(i["id"]) is None or (i["type"] != "photo" and answers[i["id"]].get("value") is None))
    ]
    if unanswered:
        raise invalid("answers", f"必填检查项未填写：{'、'.join(unanswered[:10])}")
    total = passed_weight = 0.0
    failed: list[dict[str, Any]] = []
    for item in checklist["items"]:
        verdict = item_verdict(item, answers.get(item["id"]))
        if verdict is None:
            continue
        total += float(item.get("weight") or 1)
        if verdict:
            passed_weight += float(item.get("weight") or 1)
        else:
            failed.append(item)
    score = round(100 * passed_weight / total, 1) if total else None
    submitted = {"state": "submitted", "submitted_at": clock.now(), "passed": not failed, "score": score}
    repo.update_inspection(session, row["id"], submitted)
    if row["replaces"]:
        repo.mark_replaced(session, row["replaces"], client_id)
    for item in failed:
        if not item.get("category"):
            continue
        answer = answers.get(item["id"]) or {}
        rectification.raise_finding(
            session,
            settings,
            cal,
            plan=plan,
            target=target,
            category=item["category"],
            severity=_severity(item),
            description=f"{item['label']}：不合格" + (f"（{answer['note']}）" if answer.get("note") else ""),
            photo_rows=[have[pid] for pid in answer.get("photo_ids", []) if pid in have],
            latitude=row["latitude"],
            longitude=row["longitude"],
            created_by=row["inspector"],
            inspection_id=row["id"],
            item_id=item["id"],
        )
    outbox.emit(
        session,
        "inspection",
        "submitted",
        client_id,
        {"client_id": client_id, "plan_id": plan["id"], "target_code": row["target_code"], "passed": not failed},
    )
    return public(session, row | submitted, photos=photos)


def list_inspections(
    session: Session, caller: Caller, plan_id: int | None, state: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    scope.require_reader(caller)
    limit = clamp_limit(limit)
    team_condition = scope.team_filter(caller, plan_t.c.team_code)
    items, next_cursor = repo.inspections(session, team_condition, plan_id, state, cursor, limit)
    return {"items": [public(session, r) for r in items], "next_cursor": next_cursor}
