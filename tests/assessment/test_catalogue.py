"""Catalogue: import (three table shapes, YAML), row/column errors, versions, publish, compare."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import yaml
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

OFFICE_HEADER = ["序号", "评估类别", "评估项目", "分值", "评分细则", "档案资料", "责任单位"]


def xlsx(header: list[str], rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


OFFICE_ROWS: list[list[Any]] = [
    [
        "1.1",
        "体制机制建设",
        "落实城市主体责任",
        3,
        "市、区建立领导小组（2分）\n主要负责同志任组长（1分）",
        "成立领导小组的正式文件【一次】；组长姓名",
        "分类办",
    ],
    [
        "1.2",
        None,
        "出台（含修订）地方性法规或政府规章",
        2,
        "地方性法规 2 或 政府规章 1",
        "法规/规章文本〔PDF〕【一次】",
        "司法局, 分类办",
    ],
    [
        "1.3",
        None,
        "工作体制健全",
        5,
        "各级党组织协同联动（3分）；部门协同形成合力（2分）",
        "协同联动材料",
        "市委组织部、市城管局",
    ],
    [
        "2.1",
        "分类投放",
        "混投混放整治",
        3,
        "混投混放（3分，每处扣0.5分，最低0分）",
        "执法台账【每月】",
        "市场监管局；各县（市、区）",
    ],
]


def _import(client: TestClient, as_: Callable[[str], dict[str, str]], data: bytes, name: str = "细则.xlsx") -> Any:
    return client.post("/catalogues/import", files={"file": (name, data)}, headers=as_("office"))


def test_office_table_import(client: TestClient, as_: Callable[[str], dict[str, str]]) -> None:
    r = _import(client, as_, xlsx(OFFICE_HEADER, OFFICE_ROWS))
    assert r.status_code == 201, r.text
    cat = r.json()
    assert cat["status"] == "draft" and cat["version"] == 1 and cat["total_points"] == 13
    detail = client.get(f"/catalogues/{cat['id']}", headers=as_("office")).json()
    items = {i["code"]: i for i in detail["items"]}
    assert items["1.1"]["category"] == "体制机制建设"
    assert [e["frequency"] for e in items["1.1"]["evidence"]] == ["once", "quarterly"]
    assert items["1.2"]["rules"][0]["method"] == "either_or"
    assert items["1.2"]["evidence"][0]["kinds"] == ["pdf"]
    assert (items["1.2"]["lead_unit"], items["1.2"]["co_units"]) == ("U02", ["U01"])
    assert (items["1.3"]["lead_unit"], items["1.3"]["co_units"]) == ("U15", ["U03"])  # 市城管局 = 市城管执法局
    assert items["2.1"]["rules"][0] | {} == {
        "text": "混投混放",
        "points": 3.0,
        "method": "deduction",
        "per_case": 0.5,
        "floor": 0.0,
    }
    assert items["2.1"]["co_units"] == ["U21", "U22"]  # 各县（市、区）


def test_unknown_units_are_row_errors_and_nothing_is_stored(
    client: TestClient, as_: Callable[[str], dict[str, str]]
) -> None:
    rows = [list(r) for r in OFFICE_ROWS]
    rows[1][6] = "司法局, 市火星局"
    rows[3][3] = 4  # points disagree with the rules
    r = _import(client, as_, xlsx(OFFICE_HEADER, rows))
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "catalogue_invalid"
    fields = {(d["field"], d.get("value")) for d in body["details"]}
    assert ("第3行 责任单位", "市火星局") in fields
    assert ("第5行 分值", "4") in fields
    assert "第 3 行" in body["message"]
    assert client.get("/catalogues", headers=as_("office")).json()["items"] == []


def test_lu_an_and_yinchuan_shapes(client: TestClient, as_: Callable[[str], dict[str, str]]) -> None:
    luan = xlsx(
        ["评估内容", "分项", "评分细则", "报送内容", "责任单位"],
        [
            ["推动源头减量", "限制商品过度包装 (1)", "采取有效措施 (1)", "落实材料", "市场监管局, 商务局"],
            [None, "禁止、限制部分一次性塑料制品 (1)", "采取有效措施 (1)", "落实材料", "发改委, 商务局"],
        ],
    )
    r = _import(client, as_, luan, "六安.xlsx")
    assert r.status_code == 201, r.text
    items = client.get(f"/catalogues/{r.json()['id']}", headers=as_("office")).json()["items"]
    assert [(i["code"], i["category"], i["name"], i["points"]) for i in items] == [
        ("1.1", "推动源头减量", "限制商品过度包装", 1.0),
        ("1.2", "推动源头减量", "禁止、限制部分一次性塑料制品", 1.0),
    ]
    assert items[1]["lead_unit"] == "U13"
    yinchuan = xlsx(
        ["评估类别", "评估项目", "评估内容", "档案资料", "工作单位"],
        [["体制机制建设", "与分类挂钩的收费机制", "建立并有效实施（2分）", "收费标准及成效说明", "城管局, 发改委"]],
    )
    r = _import(client, as_, yinchuan, "银川.xlsx")
    assert r.status_code == 201, r.text
    items = client.get(f"/catalogues/{r.json()['id']}", headers=as_("office")).json()["items"]
    assert items[0]["points"] == 2 and items[0]["lead_unit"] == "U03" and items[0]["co_units"] == ["U13"]


def test_yaml_round_trip_and_xlsx_export_reimports(
    client: TestClient, as_: Callable[[str], dict[str, str]], published: int
) -> None:
    first = client.get(f"/catalogues/{published}/export?format=yaml", headers=as_("office"))
    assert first.status_code == 200
    spec = yaml.safe_load(first.content)
    r = _import(client, as_, first.content, "细则.yaml")
    assert r.status_code == 201, r.text
    second = client.get(f"/catalogues/{r.json()['id']}/export?format=yaml", headers=as_("office"))
    assert yaml.safe_load(second.content) == spec
    exported = client.get(f"/catalogues/{published}/export?format=xlsx", headers=as_("office"))
    ws = load_workbook(io.BytesIO(exported.content)).active
    assert ws is not None and ws.cell(1, 1).value == "序号"
    r = _import(client, as_, exported.content, "导出.xlsx")
    assert r.status_code == 201, r.text
    a = client.get(f"/catalogues/{published}", headers=as_("office")).json()["items"]
    b = client.get(f"/catalogues/{r.json()['id']}", headers=as_("office")).json()["items"]
    assert [(i["code"], i["points"], i["rules"], i["lead_unit"], i["co_units"], i["data_source"]) for i in a] == [
        (i["code"], i["points"], i["rules"], i["lead_unit"], i["co_units"], i["data_source"]) for i in b
    ]


def test_published_is_immutable_editing_makes_a_draft_and_compare(
    client: TestClient, as_: Callable[[str], dict[str, str]], published: int
) -> None:
    item = client.get(f"/catalogues/{published}", headers=as_("office")).json()["items"][0]
    body = {k: item[k] for k in ("category", "name", "rules", "evidence", "lead_unit", "co_units", "data_source")}
    r = client.put(f"/catalogues/{published}/items/1.1", json=body, headers=as_("office"))
    assert r.status_code == 409 and r.json()["error"] == "catalogue_published"
    draft = client.post(f"/catalogues/{published}/drafts", headers=as_("office")).json()
    assert draft["status"] == "draft" and draft["version"] == 2 and draft["based_on"] == published
    body["rules"] = [{"text": "市、区建立领导小组", "points": 4, "method": "all_or_nothing"}]
    assert client.put(f"/catalogues/{draft['id']}/items/1.1", json=body, headers=as_("office")).status_code == 200
    assert (
        client.put(
            f"/catalogues/{draft['id']}/items/9.9", json=body | {"name": "新项目"}, headers=as_("office")
        ).status_code
        == 200
    )
    assert client.delete(f"/catalogues/{draft['id']}/items/1.2", headers=as_("office")).status_code == 204
    report = client.get(f"/catalogues/compare?from={published}&to={draft['id']}", headers=as_("office")).json()
    changes = {(r["code"], r["change"], r["points_before"], r["points_after"]) for r in report["items"]}
    assert changes == {("1.1", "changed", 3.0, 4.0), ("1.2", "removed", 2.0, None), ("9.9", "added", None, 4.0)}
    assert client.post(f"/catalogues/{draft['id']}/publish", headers=as_("unit")).status_code == 403
    assert client.post(f"/catalogues/{draft['id']}/publish", headers=as_("office")).json()["status"] == "published"
    bad = body | {"lead_unit": "市火星局"}
    d3 = client.post(f"/catalogues/{draft['id']}/drafts", headers=as_("office")).json()
    r = client.put(f"/catalogues/{d3['id']}/items/1.1", json=bad, headers=as_("office"))
    assert r.status_code == 422


def test_alias_table_matches_on_import(client: TestClient, as_: Callable[[str], dict[str, str]]) -> None:
    assert (
        client.put("/unit-aliases", json={"alias": "市法制办", "unit_code": "U02"}, headers=as_("office")).status_code
        == 200
    )
    rows = [["1.1", "体制机制建设", "法规", 1, "出台（1分）", "文本", "市法制办"]]
    r = _import(client, as_, xlsx(OFFICE_HEADER, rows))
    assert r.status_code == 201, r.text
    assert (
        client.put("/unit-aliases", json={"alias": "x", "unit_code": "U99"}, headers=as_("office")).status_code == 422
    )
