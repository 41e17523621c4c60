"""What a round's report says, computed from the tables: what was checked, the pass rate by
county and target kind, findings by category, the rectification on-time rate, the main cases
with before/after photos, and who is praised and who is named. Also the report's HTML sections
(kernel ``report_html`` with SVG charts)."""

from __future__ import annotations

import base64
import html
import io
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from services.common import clock
from services.common.storage import FileStorage
from services.supervision import photo_repository as photo_repo
from services.supervision.plans import repository as plans_repo
from services.supervision.rectification import repository as rectification_repo
from services.supervision.reports import repository as repo
from services.supervision.vocab import CATEGORY_NAMES, RECT_STATE_NAMES, SEVERITY_NAMES, TARGET_KINDS

PRAISE_RATE = 90.0
NAME_RATE = 70.0


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def compute(conn: Connection, plan_id: int, county_names: dict[str, str] | None = None) -> dict[str, Any]:
    """The report's figures (JSON-ready), from one plan's rows."""
    names = county_names or {}
    plan = plans_repo.plan(conn, plan_id)
    assert plan is not None
    targets = repo.plan_targets(conn, plan_id)
    kind_of = {t["target_code"]: t["kind"] for t in targets}
    latest = repo.latest_results(conn, plan_id)
    by_county: dict[str, dict[str, int]] = {}
    by_kind: dict[str, dict[str, int]] = {}
    for t in targets:
        by_county.setdefault(t["county_code"], {"targets": 0, "checked": 0, "passed": 0})["targets"] += 1
        by_kind.setdefault(t["kind"], {"targets": 0, "checked": 0, "passed": 0})["targets"] += 1
    for i in latest:
        for bucket in (
            by_county.setdefault(i["county_code"], {"targets": 0, "checked": 0, "passed": 0}),
            by_kind.setdefault(kind_of.get(i["target_code"], "?"), {"targets": 0, "checked": 0, "passed": 0}),
        ):
            bucket["checked"] += 1
            bucket["passed"] += 1 if i["passed"] else 0
    categories = repo.category_counts(conn, plan_id)
    orders = rectification_repo.orders_of_plan(conn, plan_id)
    today = clock.today()
    due = [o for o in orders if not o["is_open"] or o["deadline"] < today]
    on_time = [
        o
        for o in due
        if o["state"] == "verified"
        and o["escalation_level"] == 0
        and o["verified_at"] is not None
        and clock.local(o["verified_at"]).date() <= o["deadline"]
    ]
    county_orders: dict[str, dict[str, int]] = {}
    for o in orders:
        c = county_orders.setdefault(o["county_code"], {"orders": 0, "overdue": 0, "escalated": 0, "verified": 0})
        c["orders"] += 1
        c["overdue"] += 1 if o["is_open"] and o["deadline"] < today else 0
        c["escalated"] += 1 if o["escalation_level"] > 0 else 0
        c["verified"] += 1 if o["state"] == "verified" else 0
    counties: list[dict[str, Any]] = []
    for code in sorted(by_county):
        b = by_county[code]
        extra = county_orders.get(code, {"orders": 0, "overdue": 0, "escalated": 0, "verified": 0})
        counties.append(
            {"code": code, "name": names.get(code, code), **b, "pass_rate": _rate(b["passed"], b["checked"]), **extra}
        )
    praised = [
        c
        for c in counties
        if c["checked"] and (c["pass_rate"] or 0) >= PRAISE_RATE and not c["overdue"] and not c["escalated"]
    ]
    named = [
        c for c in counties if c["checked"] and ((c["pass_rate"] or 0) < NAME_RATE or c["escalated"] or c["overdue"])
    ]
    total_checked = sum(b["checked"] for b in by_county.values())
    total_passed = sum(b["passed"] for b in by_county.values())
    return {
        "plan": {
            "id": plan_id,
            "name": plan["name"],
            "starts_on": plan["starts_on"].isoformat(),
            "ends_on": plan["ends_on"].isoformat(),
        },
        "targets": len(targets),
        "checked": total_checked,
        "passed": total_passed,
        "pass_rate": _rate(total_passed, total_checked),
        "counties": counties,
        "kinds": [
            {"kind": k, "name": TARGET_KINDS.get(k, k), **v, "pass_rate": _rate(v["passed"], v["checked"])}
            for k, v in sorted(by_kind.items())
        ],
        "categories": [
            {"category": c, "name": CATEGORY_NAMES[c], "count": categories.get(c, 0)}
            for c in CATEGORY_NAMES
            if categories.get(c)
        ],
        "findings": sum(categories.values()),
        "orders": len(orders),
        "orders_by_state": {s: sum(1 for o in orders if o["state"] == s) for s in RECT_STATE_NAMES},
        "orders_due": len(due),
        "orders_on_time": len(on_time),
        "on_time_rate": _rate(len(on_time), len(due)),
        "praised": [c["code"] for c in praised],
        "named": [c["code"] for c in named],
        "cases": _main_cases(conn, orders),
    }


def _main_cases(conn: Connection, orders: list[dict[str, Any]], limit: int = 4) -> list[dict[str, Any]]:
    """Verified orders with before and after photos, the most severe first."""
    rank = {"severe": 0, "major": 1, "minor": 2}
    verified = sorted(
        (o for o in orders if o["state"] == "verified" and o["fix_photos"]),
        key=lambda o: (rank.get(o["severity"], 3), o["id"]),
    )
    cases = []
    for o in verified:
        finding = rectification_repo.finding(conn, o["finding_id"])
        if finding is None or not finding["photos"]:
            continue
        cases.append(
            {
                "order": o["id"],
                "target_code": o["target_code"],
                "target_name": finding["target_name"],
                "category": CATEGORY_NAMES.get(o["category"], o["category"]),
                "severity": SEVERITY_NAMES.get(o["severity"], o["severity"]),
                "description": finding["description"],
                "fix_note": o["fix_note"] or "",
                "before": finding["photos"][0],
                "after": o["fix_photos"][0],
            }
        )
        if len(cases) == limit:
            break
    return cases


def _img(conn: Connection, storage: FileStorage, photo_row_id: int) -> str:
    """A small JPEG data URI of a photo (the thumbnail when there is one)."""
    from PIL import Image, ImageOps

    row = photo_repo.photo_row(conn, photo_row_id)
    if row is None:
        return ""
    with Image.open(io.BytesIO(storage.open(row["thumb_key"] or row["key"]))) as original:
        img = ImageOps.exif_transpose(original)
        img.thumbnail((480, 480))
        out = io.BytesIO()
        img.convert("RGB").save(out, "JPEG", quality=75)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


def _table(head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def sections(conn: Connection, storage: FileStorage, figures: dict[str, Any], summary: str) -> list[tuple[str, str]]:
    """The report's sections as (title, HTML)."""
    from services.common.charts import bar_chart_svg

    f = figures
    esc = html.escape
    out: list[tuple[str, str]] = []
    paragraphs = "".join(f"<p>{esc(p)}</p>" for p in summary.splitlines() if p.strip())
    out.append(("总体情况", paragraphs))
    checked = (
        f"<p>本轮督导计划检查 {f['targets']} 个对象，实际检查 {f['checked']} 个，合格 {f['passed']} 个，"
        f"合格率 {_pct(f['pass_rate'])}；发现问题 {f['findings']} 个，下发整改通知 {f['orders']} 份。</p>"
    )
    county_rows = [
        [c["name"], c["targets"], c["checked"], c["passed"], _pct(c["pass_rate"]), c["orders"], c["overdue"]]
        for c in f["counties"]
    ]
    chart = bar_chart_svg(
        [c["name"] for c in f["counties"]], [c["pass_rate"] or 0 for c in f["counties"]], title="各县区合格率", unit="%"
    )
    out.append(
        (
            "检查情况与各县区合格率",
            checked + chart + _table(["县区", "计划", "已查", "合格", "合格率", "整改", "逾期"], county_rows),
        )
    )
    kind_rows = [[k["name"], k["checked"], k["passed"], _pct(k["pass_rate"])] for k in f["kinds"]]
    out.append(("按对象类型", _table(["对象类型", "已查", "合格", "合格率"], kind_rows)))
    if f["categories"]:
        cat_chart = bar_chart_svg(
            [c["name"] for c in f["categories"]], [c["count"] for c in f["categories"]], title="问题类别分布", unit="个"
        )
    else:
        cat_chart = "<p>本轮未发现问题。</p>"
    out.append(
        ("发现问题", cat_chart + _table(["问题类别", "数量"], [[c["name"], c["count"]] for c in f["categories"]]))
    )
    states = "、".join(f"{RECT_STATE_NAMES[s]} {n} 份" for s, n in f["orders_by_state"].items())
    out.append(
        (
            "整改情况",
            f"<p>整改通知 {f['orders']} 份：{esc(states)}。已到期 {f['orders_due']} 份，"
            f"按期整改销号 {f['orders_on_time']} 份，"
            f"按期整改率 {_pct(f['on_time_rate'])}。</p>",
        )
    )
    if f["cases"]:
        blocks = []
        for c in f["cases"]:
            before, after = _img(conn, storage, c["before"]), _img(conn, storage, c["after"])
            blocks.append(
                f"<div class='case'><h3>{esc(c['target_name'] or c['target_code'])}"
                f"（{esc(c['category'])}，{esc(c['severity'])}）</h3><p>{esc(c['description'])}</p>"
                f"<table class='photos'><tr><td><img src='{before}' alt='整改前'/><br/>整改前</td>"
                f"<td><img src='{after}' alt='整改后'/><br/>整改后：{esc(c['fix_note'])}</td></tr></table></div>"
            )
        out.append(("典型案例（整改前后对比）", "".join(blocks)))
    by_code = {c["code"]: c for c in f["counties"]}
    praised = "、".join(by_code[c]["name"] for c in f["praised"]) or "无"
    named = "、".join(by_code[c]["name"] for c in f["named"]) or "无"
    out.append(
        (
            "表扬与点名",
            f"<p><b>表扬：</b>{esc(praised)}（合格率不低于 {PRAISE_RATE:.0f}% 且无逾期、无督办）。</p>"
            f"<p><b>点名：</b>{esc(named)}（合格率低于 {NAME_RATE:.0f}%，或有逾期、督办的整改通知）。</p>",
        )
    )
    return out


def default_summary(figures: dict[str, Any], county_names: dict[str, str] | None = None) -> str:
    f = figures
    return (
        f"{f['plan']['starts_on']} 至 {f['plan']['ends_on']}，督导组对 {f['checked']} 个对象开展督导检查，"
        f"合格率 {_pct(f['pass_rate'])}，发现问题 {f['findings']} 个，按期整改率 {_pct(f['on_time_rate'])}。"
    )


def report_date() -> date:
    return clock.today()
