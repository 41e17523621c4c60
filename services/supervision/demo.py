"""The demo city's supervision (示例): two teams (the demo inspector in T01), a 示例 checklist per
target kind, two rounds — one finished with its report and circular published, one in progress
with inspections of today — and findings and rectification orders in every state, some overdue
and escalated, with small real photos.

It goes through the service functions (the same rules, events and history as the API), with the
clock set back for what happened in the past. Targets are the demo registry's residential
compounds: their codes and kinds are computed by running the registry's demo generator into a
throw-away in-memory database (the generator is deterministic; no HTTP needed). Running it twice
adds nothing (team T01 marks a seeded database).
"""

from __future__ import annotations

import io
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy.engine import Engine

from services.common import clock
from services.common.auth import Caller
from services.common.db import session_scope
from services.common.storage import FileStorage, make_storage
from services.registry.demo import UNITS
from services.supervision import photos as photo_store
from services.supervision.config import Settings
from services.supervision.enforcement import service as enforcement
from services.supervision.enforcement.schemas import EnforcementIn
from services.supervision.inspections import service as inspections
from services.supervision.inspections.schemas import InspectionIn
from services.supervision.models import inspection_t, plan_t, rect_t
from services.supervision.plans import repository as plans_repo
from services.supervision.plans import service as plans
from services.supervision.plans.schemas import ChecklistIn, PlanIn, TeamIn
from services.supervision.plans.templates import demo_templates
from services.supervision.rectification import escalation
from services.supervision.rectification import repository as rectification_repo
from services.supervision.rectification import service as rectification
from services.supervision.rectification.schemas import FindingIn, TransitionIn
from services.supervision.reports import service as reports
from services.supervision.reports.schemas import CircularIn, ReportIn
from services.supervision.repository import count

OFFICE = Caller(sub="system:demo", name="分类办", role="office")
TEAMS = [
    ("T01", "第一督导组", "inspector", ["inspector", "zhang.wei"], ["360102", "360103", "360111"]),
    ("T02", "第二督导组", "wang.fang", ["wang.fang", "chen.jie"], ["360104", "360113", "360112"]),
]
# The demo member unit whose liaison the gateway demo signs in (gateway/demo.py): responsible for the
# findings at farmers' markets below. The registry demo numbers its units U01... in UNITS' order.
DEMO_UNIT = "U05"
DEMO_UNIT_NAME = UNITS[int(DEMO_UNIT[1:]) - 1][0]
UNIT_CASES = [
    ("mixed_disposal", "major", "市场内厨余垃圾与其他垃圾混投，部分摊位未设分类容器"),
    ("signage", "minor", "分类投放点标识陈旧，部分桶身无分类标志"),
    ("overflow", "minor", "收集点厨余桶满溢，未及时清运"),
    ("records_missing", "minor", "市场未建立垃圾分类台账，清运记录缺失"),
]
COUNTY_NAMES = {
    "360102": "东湖区",
    "360103": "西湖区",
    "360104": "青云谱区",
    "360111": "青山湖区",
    "360112": "新建区",
    "360113": "红谷滩区",
    "360121": "南昌县",
    "360123": "安义县",
    "360124": "进贤县",
}
COLOURS = [(46, 125, 50), (25, 118, 210), (198, 40, 40), (97, 97, 97), (251, 192, 45)]


def demo_sites() -> list[dict[str, Any]]:
    """The demo registry's active sites (code, kind, name, county, position)."""
    from sqlalchemy import create_engine

    from services.registry.demo import seed_demo as seed_registry
    from services.registry.models import metadata as registry_metadata
    from services.supervision.repository import registry_demo_sites

    engine = create_engine("sqlite://")
    registry_metadata.create_all(engine)
    seed_registry(engine, size=9)  # sites do not depend on the facility count
    with engine.connect() as conn:
        sites = registry_demo_sites(conn)
    engine.dispose()
    return sites


class DemoRegistry:
    """Answers ``/sites`` and ``/divisions`` from the computed demo sites, like the registry."""

    def __init__(self, sites: list[dict[str, Any]]) -> None:
        self.sites = sites

    def get_json(self, path: str, params: dict[str, Any] | None = None, caller: Any = None) -> Any:
        p = params or {}
        if path == "/divisions":
            return {"items": [{"code": c, "name": n} for c, n in COUNTY_NAMES.items()]}
        if path != "/sites":
            return {"items": [], "next_cursor": None}
        rows = [s for s in self.sites if s["county_code"] == p.get("county") and s["kind"] == p.get("kind", s["kind"])]
        return {"items": rows, "next_cursor": None}


def tiny_jpeg(seed: int, label: str = "") -> bytes:
    """A small real photo: a coloured scene with a bin-like block, different per seed."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    img = Image.new("RGB", (160, 120), (200 + rng.randrange(40), 210, 200 + rng.randrange(40)))
    draw = ImageDraw.Draw(img)
    for i, colour in enumerate(rng.sample(COLOURS, 4)):
        x = 12 + i * 36
        draw.rectangle([x, 50, x + 28, 105], fill=colour, outline=(30, 30, 30))
    if label == "before":
        for _ in range(25):
            x, y = rng.randrange(160), rng.randrange(95, 120)
            draw.ellipse([x, y, x + 6, y + 4], fill=(120, 90, 60))
    draw.text((6, 6), label or "demo", fill=(0, 0, 0))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70)
    return out.getvalue()


def _at(day: date, hour: int = 10) -> datetime:
    """``hour`` o'clock in Shanghai on ``day``, as UTC."""
    return datetime.combine(day, time(hour)).replace(tzinfo=clock.SHANGHAI).astimezone(UTC)


def _photo(
    engine: Engine, storage: FileStorage, caller: Caller, owner: tuple[str, int], photo_id: str, seed: int, label: str
) -> int:
    data = tiny_jpeg(seed, label)
    stored = storage.put(data, original_name=f"{photo_id}.jpg", content_type="image/jpeg")
    position = {"latitude": 28.68, "longitude": 115.9, "accuracy_m": 8.0, "taken_at": clock.now()}
    new = photo_store.NewPhoto(owner[0], owner[1], photo_id, caller, position)
    _, row = photo_store.record_photo(engine, storage, new, stored, stored.sha256)
    photo_store.make_thumbnail(engine, storage, int(row["id"]), 320)
    return int(row["id"])


def seed_demo(engine: Engine, settings: Settings | None = None, calendar: Any = None) -> dict[str, int]:
    """Seed the demo supervision data; returns what was added (zeros the second time).

    ``calendar`` is the working-day calendar (the kernel's ``WorkCalendar`` by default)."""
    settings = settings or Settings()
    counts = {"teams": 0, "checklists": 0, "plans": 0, "inspections": 0, "orders": 0, "reports": 0}
    with engine.connect() as conn:
        if plans_repo.team(conn, "T01") is not None:
            return counts
    storage = make_storage(settings.file_storage_url(), max_size=settings.max_photo_size)
    if calendar is None:
        from services.common.workdays import WorkCalendar

        calendar = WorkCalendar()
    cal = calendar
    sites = demo_sites()
    registry = DemoRegistry([s for s in sites if s["kind"] == "residential"])
    markets = [s for s in sites if s["kind"] == "farmers_market"]
    saved = clock._fixed
    try:
        _seed(_Env(engine, settings, storage, cal, registry, counts), markets)
    finally:
        clock.set_now(saved)
    return counts


def _seed(env: _Env, markets: list[dict[str, Any]]) -> None:
    engine, settings, storage, cal, _, counts = env
    today = clock.today()
    with session_scope(engine) as session:
        for code, name, leader, members, counties in TEAMS:
            plans.put_team(
                session, OFFICE, code, TeamIn(code=code, name=name, leader=leader, members=members, counties=counties)
            )
            counts["teams"] += 1
        checklist_ids: dict[str, int] = {}
        for template in demo_templates():
            created = plans.create_checklist(session, OFFICE, ChecklistIn(**template), example=True)
            plans.publish_checklist(session, OFFICE, created["id"])
            checklist_ids[template["target_kind"]] = created["id"]
            counts["checklists"] += 1
    residential = checklist_ids["site:residential"]
    # round 1: finished about two months ago
    start1 = _workday_on_or_after(cal, today - timedelta(days=70))
    end1 = cal.add_workdays(start1, 9)
    plan1 = _plan_in("2026年第三轮居民小区督导检查（示例）", start1, end1, "T01", residential, 2, 3)
    first = _round(env, plan1, made_on=start1 - timedelta(days=3), upto=end1, orders_until=end1 + timedelta(days=20))
    clock.set_now(_at(end1 + timedelta(days=21)))
    with session_scope(engine) as session:
        plans.finish_plan(session, OFFICE, first)
        report = reports.request_report(session, OFFICE, first, ReportIn(), COUNTY_NAMES, lambda s, rid: "demo")
    reports.build_report(engine, storage, settings, report["id"])
    with session_scope(engine) as session:
        reports.publish_report(session, OFFICE, report["id"])
        circular = reports.create_circular(session, settings, OFFICE, report["id"], CircularIn())
        reports.publish_circular(session, settings, storage, OFFICE, circular["id"])
    counts["reports"] += 1
    # round 2: in progress, today in the middle of its window
    start2 = _back_workdays(cal, today, 4)
    end2 = cal.add_workdays(today, 3)
    plan2 = _plan_in("2026年第四轮居民小区督导检查（示例）", start2, end2, "T01", residential, 10, 2, 3)
    _round(env, plan2, made_on=start2 - timedelta(days=2), upto=today, orders_until=today, in_progress=True)
    _unit_orders(env, markets, today)
    clock.set_now(None)
    escalation.daily(engine, settings, cal, today)
    with engine.connect() as conn:
        counts["orders"] = count(conn, rect_t)
    _enforcement(engine, today)


class _Env(NamedTuple):
    engine: Engine
    settings: Settings
    storage: FileStorage
    cal: Any
    registry: DemoRegistry
    counts: dict[str, int]


def _round(env: _Env, plan: PlanIn, *, made_on: date, upto: date, orders_until: date, in_progress: bool = False) -> int:
    """A round: its plan made on ``made_on``, its targets inspected up to ``upto`` (one in three
    failing; in progress one in two, with today's drafts), its orders moved along up to
    ``orders_until``. Returns the plan's id."""
    engine, settings, storage, cal, registry, counts = env
    clock.set_now(_at(made_on))
    with session_scope(engine) as session:
        plan_id = int(plans.create_plan(session, OFFICE, plan, cal, registry)["id"])
    counts["plans"] += 1
    fail_every = 2 if in_progress else 3
    _inspect_round(
        engine, settings, storage, cal, plan_id, upto=upto, fail_every=fail_every, counts=counts, drafts=in_progress
    )
    _work_orders(engine, storage, cal, plan_id, finished=not in_progress, today=orders_until)
    return plan_id


def _back_workdays(cal: Any, d: date, n: int) -> date:
    for _ in range(n):
        d -= timedelta(days=1)
        while not cal.is_workday(d):
            d -= timedelta(days=1)
    return d


def _workday_on_or_after(cal: Any, d: date) -> date:
    while not cal.is_workday(d):
        d += timedelta(days=1)
    return d


def _plan_in(
    name: str, start: date, end: date, team: str, checklist_id: int, per_county: int, seed: int, per_day: int = 2
) -> PlanIn:
    return PlanIn.model_validate(
        {
            "name": name,
            "starts_on": start,
            "ends_on": end,
            "team_code": team,
            "checklist_id": checklist_id,
            "selection": {"source": "site", "kinds": ["residential"], "sample_per_county": per_county, "seed": seed},
            "per_inspector_per_day": per_day,
        }
    )


def _answers(checklist: dict[str, Any], fail: bool, rng: random.Random, photo_ids: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in checklist["items"]:
        answer: dict[str, Any] = {"item_id": item["id"], "value": None, "note": None, "photo_ids": []}
        kind = item["type"]
        failing = fail and item.get("category") in ("mixed_disposal", "overflow", "notice_board_missing")
        if kind == "yesno":
            answer["value"] = not failing
        elif kind == "score":
            answer["value"] = rng.choice([3, 4, 5]) if failing else rng.choice([7, 8, 9, 10])
        elif kind == "count":
            answer["value"] = rng.choice([1, 2]) if failing else 0
        elif kind == "text":
            answer["value"] = "投放点整洁" if not fail else "早高峰桶边无人值守"
        if failing:
            answer["note"] = "现场发现问题，已拍照"
            answer["photo_ids"] = [photo_ids.pop()] if photo_ids else []
        if kind == "photo":
            answer["photo_ids"] = [photo_ids.pop()] if photo_ids else []
        out.append(answer)
    return out


def _inspect_round(
    engine: Engine,
    settings: Settings,
    storage: FileStorage,
    cal: Any,
    plan_id: int,
    *,
    upto: date,
    fail_every: int,
    counts: dict[str, int],
    drafts: bool,
) -> None:
    """Inspect every target scheduled before ``upto`` on its day. With ``drafts``, ``upto`` is
    today: of each inspector's targets today the first is submitted, the second is a draft with a
    photo still missing, the rest wait."""
    with session_scope(engine) as session:
        plan = plans.get_plan(session, OFFICE, plan_id)
        targets = plans.list_targets(session, OFFICE, plan_id, inspector=None, day=None, cursor=None, limit=500)[
            "items"
        ]
    rng = random.Random(plan_id)
    seen_today: dict[str, int] = {}
    for n, t in enumerate(targets):
        day = date.fromisoformat(str(t["scheduled_on"]))
        if day > upto:
            continue
        position = 0
        if drafts and day == upto:
            position = seen_today.get(t["inspector"], 0)
            seen_today[t["inspector"]] = position + 1
            if position > 1:
                continue
        clock.set_now(_at(day, 9 + n % 6))
        caller = Caller(sub=f"user:demo-{t['inspector']}", name=t["inspector"], role="inspector", team_code="T01")
        client_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sortline-demo/{plan_id}/{t['target_code']}"))
        fail = n % fail_every == 0
        ids = [f"{client_id[:8]}-p{i}" for i in range(3)]
        body = InspectionIn.model_validate(
            {
                "plan_id": plan_id,
                "target_code": t["target_code"],
                "answers": _answers(plan["checklist"], fail, rng, list(ids)),
                "latitude": t["lat"],
                "longitude": t["lng"],
                "accuracy_m": 10.0,
                "taken_at": clock.now(),
            }
        )
        with session_scope(engine) as session:
            inspections.put(session, caller, client_id, body)
            row = inspections.get_row(session, client_id)
        assert row is not None
        named = [pid for a in body.answers for pid in a.photo_ids]
        draft = position == 1
        for i, pid in enumerate(named):
            if draft and i == len(named) - 1:
                break  # a photo still waiting on the tablet
            _photo(engine, storage, caller, ("inspection", int(row["id"])), pid, plan_id * 1000 + n * 10 + i, "before")
        if not draft:
            with session_scope(engine) as session:
                inspections.submit(session, settings, cal, caller, client_id)
        counts["inspections"] += 1


def _go(
    engine: Engine,
    caller: Caller,
    order_id: int,
    action: str,
    reason: str | None = None,
    photos: list[str] | None = None,
) -> None:
    with session_scope(engine) as session:
        rectification.transition(
            session, caller, order_id, TransitionIn(action=action, reason=reason, photo_ids=photos or [])
        )


def _party(order: dict[str, Any]) -> Caller:
    if order["party_kind"] == "unit":
        return Caller(sub="system:demo-unit", name="成员单位联络员", role="unit", unit_code=order["party_code"])
    name = COUNTY_NAMES.get(order["party_code"], order["party_code"])
    return Caller(
        sub=f"system:demo-{order['party_code']}", name=f"{name}管理员", role="county", county_code=order["party_code"]
    )


def _work_orders(engine: Engine, storage: FileStorage, cal: Any, plan_id: int, *, finished: bool, today: date) -> None:
    """Move the round's orders along: finished rounds mostly verified; the current round spread
    over every state, with some left past their deadline (overdue, escalated by the daily pass)."""
    with engine.connect() as conn:
        orders = rectification_repo.orders_of_plan(conn, plan_id)
    checker = Caller(sub="user:demo-inspector", name="inspector", role="inspector", team_code="T01")
    for n, order in enumerate(orders):
        party = _party(order)
        issued = order["issued_on"]
        stage = 4 if finished and n % 5 else n % 6  # 0 issued, 1 accepted, 2 fix submitted, 3 rejected, 4/5 verified
        if finished and n % 5 == 0:
            stage = 5
        if stage == 0:
            if not finished and n % 12 == 0:
                _backdate(engine, order["id"], cal, today, 12)  # long overdue: the daily pass escalates it
            continue
        if not finished and issued >= today:
            continue  # issued today: nobody has signed yet
        clock.set_now(_at(min(cal.add_workdays(issued, 1), today), 9))
        _go(engine, party, order["id"], "accept")
        if stage == 1:
            if not finished:
                _backdate(engine, order["id"], cal, today, 2)  # overdue, not yet escalated
            continue
        fix_day = cal.add_workdays(issued, 2 if stage != 5 else 8)
        fix_day = fix_day if finished else min(fix_day, today)
        clock.set_now(_at(fix_day, 15))
        pid = f"fix-{order['id']}"
        _photo(engine, storage, party, ("rectification", order["id"]), pid, 50_000 + order["id"], "after")
        _go(engine, party, order["id"], "submit_fix", "已增设分类桶并安排专人桶边值守，周边垃圾已清理", [pid])
        if stage == 2:
            continue
        check_day = cal.add_workdays(fix_day, 1)
        clock.set_now(_at(check_day if finished else min(check_day, today), 17))
        if stage == 3:
            _go(engine, checker, order["id"], "reject", "整改后照片看不出周边清理情况，请补拍")
            continue
        _go(engine, checker, order["id"], "verify", "复查合格，予以销号")


def _unit_orders(env: _Env, markets: list[dict[str, Any]], today: date) -> None:
    """Free findings an inspector raised at farmers' markets with the demo member unit responsible,
    so its liaison's 我的整改 is not empty: one order to sign, one signed and past its deadline, one
    fixed and waiting for the check, and one signed weeks ago and never fixed, which the daily pass
    escalates (督办: the office and the unit's leader are told)."""
    engine, settings, storage, cal, _, _ = env
    inspector = Caller(sub="user:demo-inspector", name="inspector", role="inspector", team_code="T01")
    for stage, (site, (category, severity, description)) in enumerate(zip(markets, UNIT_CASES, strict=False)):
        issued = _back_workdays(cal, today, 12 if stage == 3 else 3)
        clock.set_now(_at(issued, 10 + stage))
        body = FindingIn(
            target_code=site["code"],
            target_name=site["name"],
            county_code=site["county_code"],
            category=category,
            severity=severity,
            description=description,
            latitude=site["lat"],
            longitude=site["lng"],
            party_kind="unit",
            party_code=DEMO_UNIT,
        )
        with session_scope(engine) as session:
            order_id = rectification.create_finding(session, settings, cal, inspector, body).body["rectification_id"]
        if stage == 0:
            continue
        party = Caller(sub="system:demo-unit", name=f"{DEMO_UNIT_NAME}联络员", role="unit", unit_code=DEMO_UNIT)
        clock.set_now(_at(cal.add_workdays(issued, 1), 9))
        _go(engine, party, order_id, "accept")
        if stage in (1, 3):  # signed, then let slip past its deadline (stage 3 long enough for 督办)
            _backdate(engine, order_id, cal, today, 1 if stage == 1 else 5)
            continue
        clock.set_now(_at(cal.add_workdays(issued, 2), 16))
        pid = f"fix-{order_id}"
        _photo(engine, storage, party, ("rectification", order_id), pid, 60_000 + order_id, "after")
        _go(engine, party, order_id, "submit_fix", "已为各摊位配备分类桶，市场管理方每日巡查", [pid])


def _backdate(engine: Engine, order_id: int, cal: Any, today: date, workdays_overdue: int) -> None:
    """Put an order's deadline ``workdays_overdue`` working days before today (the demo's past)."""
    with engine.begin() as conn:
        rectification_repo.update_order(conn, order_id, {"deadline": _back_workdays(cal, today, workdays_overdue)})


def _enforcement(engine: Engine, today: date) -> None:
    rng = random.Random(7)
    departments = ["urban_management", "housing", "market_regulation", "commerce", "ecology", "culture_tourism"]
    businesses = [
        "滨江路餐饮店",
        "八一菜市场摊位",
        "阳明路超市",
        "象山北路宾馆",
        "红谷中大道写字楼物业",
        "丰和农贸市场",
    ]
    with session_scope(engine) as session:
        for n in range(24):
            action = rng.choice(["order", "order", "warning", "fine"])
            day = today - timedelta(days=rng.randrange(0, 60))
            body = EnforcementIn.model_validate(
                {
                    "department": departments[n % 6],
                    "on_date": day,
                    "business_name": rng.choice(businesses),
                    "county_code": rng.choice(list(COUNTY_NAMES)[:6]),
                    "finding": "生活垃圾混投混放，未按规定分类",
                    "action": action,
                    "amount": rng.choice([200, 500, 1000]) if action == "fine" else None,
                    "case_number": f"示例执法〔{day.year}〕{n + 1:03d}号",
                }
            )
            enforcement.create(session, OFFICE, body)


def demo_summary(engine: Engine) -> dict[str, int]:
    """How much demo supervision data there is (for the CLI's report)."""
    with engine.connect() as conn:
        return {
            name: count(conn, table)
            for name, table in (("plans", plan_t), ("inspections", inspection_t), ("orders", rect_t))
        }
