"""Catalogue import and export: the office's XLSX table (and the Lu'an / Yinchuan shapes), and YAML.

A catalogue *spec* is the plain structure both formats map to::

    {"name": ..., "note": ..., "categories": [{"name": ..., "items": [
        {"code": "1.1", "name": ..., "points": 3, "rules": [...], "evidence": [...],
         "lead_unit": "U01", "co_units": ["U02"], "data_source": "manual"}]}]}

Every problem is collected as ``(row, column, value, message)``; nothing is stored unless the list
is empty. YAML rows are numbered by item (its position in the file) with the field as the column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from services.assessment.scoring import METHOD_LABELS, check_rule, item_max, rule_max
from services.assessment.units import UnitDirectory, format_units
from services.common.errors import ErrorDetail, InvalidInput
from services.common.tabular import Column, ErrorEntry, TabularError, open_table, stream_xlsx

FREQUENCIES = {"monthly": "每月", "quarterly": "每季度", "yearly": "每年", "once": "一次"}
FREQ_BY_LABEL = {v: k for k, v in FREQUENCIES.items()} | {"每季": "quarterly", "每半年": "yearly", "年度": "yearly"}
FILE_KINDS = {"pdf": "PDF", "image": "图片", "office": "Office 文档", "ofd": "OFD"}
DEFAULT_KINDS = ["pdf", "image", "office"]

# The union of the three shapes' headers; the shape is told by which columns the file has.
COLUMNS = [
    Column("code", "序号", width=8),
    Column("category", "评估类别", width=16),
    Column("item", "评估项目", width=30),
    Column("points", "分值", width=8),
    Column("rules", "评分细则", width=50),
    Column("evidence", "档案资料", width=40),
    Column("units", "责任单位", width=24),
    Column("content", "评估内容", width=30),
    Column("sub", "分项", width=30),
    Column("report", "报送内容", width=40),
    Column("work_units", "工作单位", width=24),
    Column("source", "数据来源", width=20, note="手工（默认）或登记台账指标，如 registry:residential_coverage"),
]
EXPORT_COLUMNS = [
    c for c in COLUMNS if c.key in {"code", "category", "item", "points", "rules", "evidence", "units", "source"}
]
COLUMNS_BY_KEY = {c.key: c for c in COLUMNS}
HEADERS = {c.key: c.header for c in COLUMNS}

_NUM = r"(\d+(?:\.\d+)?)"
_EITHER = re.compile(rf"^(.+?)\s*{_NUM}\s*分?\s*或\s*(.+?)\s*{_NUM}\s*分?$")
_PAREN = re.compile(r"[（(]([^（）()]*)[)）]\s*$")
_TRAILING_POINTS = re.compile(rf"{_NUM}\s*分\s*$")
_DEDUCT = re.compile(rf"每(?:处|例|次|发现一处)?\s*扣\s*{_NUM}\s*分")
_FLOOR = re.compile(rf"最低\s*{_NUM}\s*分")
_STEPPED = re.compile(rf"基线\s*{_NUM}\s*%.*?每\s*{_NUM}\s*%\s*加\s*{_NUM}\s*分")
_BAND = re.compile(rf"[≥>=]+\s*{_NUM}\s*%\s*得\s*{_NUM}\s*分")
_FREQ_MARK = re.compile(r"[【\[（(](每月|每季度|每季|每年|每半年|年度|一次)[】\]）)]\s*$")
_KINDS_MARK = re.compile(r"[〔{]([^〔〕{}]*)[〕}]\s*$")
_ITEM_POINTS = re.compile(rf"[（(]\s*{_NUM}\s*分?\s*[)）]\s*$")
_SPLIT_LINES = re.compile(r"[；;\n]+")


class CatalogueErrors(InvalidInput):
    """The file has problems: ``details`` name row and column of each (field = "第N行 列名")."""


def raise_errors(errors: list[ErrorEntry]) -> None:
    if not errors:
        return
    details = [
        ErrorDetail(field=f"第{row}行 {column}", message=message, value=value)
        for row, column, value, message in errors[:500]
    ]
    first = errors[0]
    raise CatalogueErrors(
        f"导入文件有 {len(errors)} 处错误，未导入任何内容。第 {first[0]} 行“{first[1]}”：{first[3]}",
        details=details,
        code="catalogue_invalid",
    )


# --------------------------------------------------------------------------------------------------
# Text forms of rules and evidence (what the XLSX cells hold)


def _num(value: float) -> str:
    return f"{value:g}"


def rule_text(rule: Mapping[str, Any]) -> str:
    method = rule.get("method", "all_or_nothing")
    if method == "either_or":
        return "或".join(f"{a['label']}{_num(float(a['points']))}分" for a in rule["alternatives"])
    extra = ""
    if method == "deduction":
        extra = f"，每处扣{_num(float(rule['per_case']))}分，最低{_num(float(rule.get('floor', 0)))}分"
    elif method == "stepped":
        extra = (
            f"，基线{_num(float(rule['baseline']) * 100)}%，每{_num(float(rule['step']) * 100)}%"
            f"加{_num(float(rule['per_step']))}分"
        )
    elif method == "metric_band":
        extra = "".join(
            f"，≥{_num(float(b['min']) * 100)}%得{_num(float(b['points']))}分"
            for b in sorted(rule["bands"], key=lambda b: -float(b["min"]))
        )
    return f"{rule['text']}（{_num(float(rule['points']))}分{extra}）"


def parse_rule(text: str, metric: str | None) -> dict[str, Any]:
    """One rule from its text; raises ValueError (Chinese) when the points cannot be read."""
    text = text.strip()
    either = _EITHER.match(text)
    if either and "（" not in text and "(" not in text:
        alts = [
            {"label": either.group(1).strip(), "points": float(either.group(2))},
            {"label": either.group(3).strip(), "points": float(either.group(4))},
        ]
        return {"text": text, "points": max(a["points"] for a in alts), "method": "either_or", "alternatives": alts}
    paren = _PAREN.search(text)
    if paren:
        inner, body = paren.group(1), text[: paren.start()].strip()
    else:
        trailing = _TRAILING_POINTS.search(text)
        if not trailing:
            raise ValueError(f"细则“{text}”没有写分值，应写成“细则内容（2分）”")
        inner, body = trailing.group(0), text[: trailing.start()].strip(" ：:")
    first = re.search(_NUM, inner)
    if not first:
        raise ValueError(f"细则“{text}”没有写分值，应写成“细则内容（2分）”")
    rule: dict[str, Any] = {"text": body or text, "points": float(first.group(1)), "method": "all_or_nothing"}
    if m := _DEDUCT.search(inner) or _DEDUCT.search(body):
        rule.update(method="deduction", per_case=float(m.group(1)))
        floor = _FLOOR.search(inner)
        rule["floor"] = float(floor.group(1)) if floor else 0.0
    elif m := _STEPPED.search(inner):
        rule.update(
            method="stepped",
            baseline=float(m.group(1)) / 100,
            step=float(m.group(2)) / 100,
            per_step=float(m.group(3)),
        )
    elif bands := _BAND.findall(inner):
        rule.update(
            method="metric_band",
            metric=metric or "",
            bands=[{"min": round(float(lo) / 100, 6), "points": float(p)} for lo, p in bands],
        )
    return rule


def evidence_text(evidence: Mapping[str, Any]) -> str:
    kinds = evidence.get("kinds") or DEFAULT_KINDS
    mark = "" if list(kinds) == DEFAULT_KINDS else "〔" + "、".join(FILE_KINDS.get(k, k) for k in kinds) + "〕"
    return f"{evidence['title']}{mark}【{FREQUENCIES[evidence.get('frequency', 'quarterly')]}】"


def parse_evidence(text: str, start: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    kind_by_label = {v: k for k, v in FILE_KINDS.items()} | {k: k for k in FILE_KINDS} | {"Office": "office"}
    for index, part in enumerate((p.strip() for p in _SPLIT_LINES.split(text) if p.strip()), start=start):
        frequency = "quarterly"
        if m := _FREQ_MARK.search(part):
            frequency = FREQ_BY_LABEL[m.group(1)]
            part = part[: m.start()].strip()
        kinds = list(DEFAULT_KINDS)
        if m := _KINDS_MARK.search(part):
            labels = [s.strip() for s in re.split(r"[、,，/]", m.group(1)) if s.strip()]
            kinds = [kind_by_label.get(s, s.lower()) for s in labels]
            part = part[: m.start()].strip()
        out.append({"code": f"e{index}", "title": part, "frequency": frequency, "kinds": kinds})
    return out


# --------------------------------------------------------------------------------------------------
# XLSX (and CSV) import


def read_xlsx(data: bytes, filename: str, directory: UnitDirectory) -> dict[str, Any]:
    """The spec of an uploaded table, or ``CatalogueErrors`` naming every bad row and column."""
    try:
        table = open_table(data, filename, COLUMNS, max_rows=5000, skip_example=False)
    except TabularError:
        raise
    keys = set(table.keys)
    if "sub" in keys:  # Lu'an 2024: 评估内容 | 分项 | 评分细则 | 报送内容 | 责任单位
        mapping = {"category": "content", "item": "sub", "rules": "rules", "evidence": "report", "units": "units"}
    elif "work_units" in keys or ("content" in keys and "rules" not in keys):  # Yinchuan 2025
        mapping = {
            "category": "category",
            "item": "item",
            "rules": "content",
            "evidence": "evidence",
            "units": "work_units",
        }
    else:  # the office's table
        mapping = {"category": "category", "item": "item", "rules": "rules", "evidence": "evidence", "units": "units"}
    missing = [HEADERS[mapping[k]] for k in ("category", "item", "units") if mapping[k] not in keys]
    if missing:
        table.close()
        raise TabularError(
            "表头有误：缺少列 " + "、".join(missing), details=[ErrorDetail(field=m, message="缺少列") for m in missing]
        )
    errors: list[ErrorEntry] = []
    categories: dict[str, list[dict[str, Any]]] = {}
    rows_of: dict[int, int] = {}
    current_category: str | None = None
    current: dict[str, Any] | None = None
    with table:
        for row in table.rows():
            v = row.values
            category = v.get(mapping["category"]) or current_category
            item_name = v.get(mapping["item"])
            if category is None:
                errors.append((row.number, HEADERS[mapping["category"]], None, "必填"))
                continue
            current_category = category
            source = (v.get("source") or "manual").strip()
            metric = source.removeprefix("registry:") if source.startswith("registry:") else None
            if source in ("手工", "人工"):
                source = "manual"
            if item_name is None and current is not None:  # a merged cell: more rules for the item above
                item = current
            else:
                if item_name is None:
                    errors.append((row.number, HEADERS[mapping["item"]], None, "必填"))
                    continue
                name = item_name
                stated: float | None = None
                if m := _ITEM_POINTS.search(name):
                    stated, name = float(m.group(1)), name[: m.start()].strip()
                item = {
                    "code": v.get("code") or "",
                    "name": name,
                    "points": stated,
                    "rules": [],
                    "evidence": [],
                    "lead_unit": "",
                    "co_units": [],
                    "data_source": source,
                }
                categories.setdefault(category, []).append(item)
                rows_of[id(item)] = row.number
                current = item
            if (points_text := v.get("points")) is not None:
                try:
                    stated_points = float(points_text)
                    continued = item is current and item_name is None
                    item["points"] = (item["points"] or 0) + stated_points if continued else stated_points
                except ValueError:
                    errors.append((row.number, HEADERS["points"], points_text, "分值应为数字"))
            for line in _SPLIT_LINES.split(v.get(mapping["rules"]) or ""):
                if line.strip():
                    try:
                        item["rules"].append(parse_rule(line, metric))
                    except ValueError as exc:
                        errors.append((row.number, HEADERS[mapping["rules"]], line, str(exc)))
            if text := v.get(mapping["evidence"]):
                item["evidence"] += parse_evidence(text, len(item["evidence"]) + 1)
            units_text = v.get(mapping["units"])
            if units_text:
                codes, unknown = directory.parse_list(units_text)
                for name in unknown:
                    errors.append(
                        (
                            row.number,
                            HEADERS[mapping["units"]],
                            name,
                            f"未知的责任单位“{name}”：在登记台账的成员单位和别名中都找不到",
                        )
                    )
                all_codes = ([item["lead_unit"]] if item["lead_unit"] else []) + item["co_units"]
                all_codes += [c for c in codes if c not in all_codes]
                if all_codes:
                    item["lead_unit"], item["co_units"] = all_codes[0], all_codes[1:]
            elif not item["lead_unit"]:
                errors.append((row.number, HEADERS[mapping["units"]], None, "必填：至少一个责任单位"))
    spec: dict[str, Any] = {"name": filename.rsplit(".", 1)[0] or "导入的评估细则", "note": None}
    spec_categories: list[dict[str, Any]] = []
    spec["categories"] = spec_categories
    for c_index, (name, items) in enumerate(categories.items(), start=1):
        for i_index, item in enumerate(items, start=1):
            item["code"] = item["code"] or f"{c_index}.{i_index}"
            row_no = rows_of[id(item)]
            if not item["rules"]:
                if item["points"] is None:
                    errors.append((row_no, HEADERS["points"], None, "没有评分细则时须填写分值"))
                    continue
                item["rules"] = [{"text": item["name"], "points": item["points"], "method": "all_or_nothing"}]
            total = item_max(item["rules"])
            if item["points"] is not None and abs(total - float(item["points"])) > 1e-6:
                errors.append(
                    (
                        row_no,
                        HEADERS["points"],
                        _num(float(item["points"])),
                        f"分值 {_num(float(item['points']))} 与评分细则合计 {_num(total)} 不符",
                    )
                )
            item["points"] = total
            if not item["evidence"]:
                item["evidence"] = [
                    {"code": "e1", "title": "落实材料", "frequency": "quarterly", "kinds": list(DEFAULT_KINDS)}
                ]
        spec_categories.append({"name": name, "items": items})
    errors += check_spec(spec, directory, rows=rows_of, xlsx=True)
    errors.sort(key=lambda e: e[0])
    raise_errors(errors)
    return spec


# --------------------------------------------------------------------------------------------------
# YAML


def read_yaml(data: bytes, directory: UnitDirectory) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput.field("file", f"YAML 文件无法读取：{exc}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("categories"), list):
        raise InvalidInput.field("file", "YAML 文件应有 name 和 categories（类别列表，每个类别有 items）")
    errors: list[ErrorEntry] = []
    for number, (_, item) in enumerate(_items(spec), start=1):
        for key in ("lead_unit",):
            value = str(item.get(key) or "")
            code = directory.match(value)
            if code is None:
                errors.append((number, key, value, f"未知的责任单位“{value}”"))
            else:
                item[key] = code
        co: list[str] = []
        for value in item.get("co_units") or []:
            code = directory.match(str(value))
            if code is None:
                errors.append((number, "co_units", str(value), f"未知的责任单位“{value}”"))
            else:
                co.append(code)
        item["co_units"] = co
        item.setdefault("data_source", "manual")
        for index, ev in enumerate(item.get("evidence") or [], start=1):
            ev.setdefault("code", f"e{index}")
            ev.setdefault("frequency", "quarterly")
            ev.setdefault("kinds", list(DEFAULT_KINDS))
    errors += check_spec(spec, directory)
    raise_errors(errors)
    return spec


def _items(spec: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for category in spec.get("categories") or []:
        for item in category.get("items") or []:
            yield category.get("name", ""), item


def check_spec(
    spec: Mapping[str, Any], directory: UnitDirectory, *, rows: Mapping[int, int] | None = None, xlsx: bool = False
) -> list[ErrorEntry]:
    """Structural checks shared by both formats (codes unique, rules valid, points agree)."""
    errors: list[ErrorEntry] = []
    seen: set[str] = set()
    col = (lambda key: HEADERS[key]) if xlsx else (lambda key: key)
    for number, (category, item) in enumerate(_items(spec), start=1):
        row = rows.get(id(item), number) if rows is not None else number
        if not category:
            errors.append((row, col("category"), None, "类别名称必填"))
        code = str(item.get("code") or "")
        if not code or len(code) > 16:
            errors.append((row, col("code"), code, "序号必填，最长 16 个字符"))
        elif code in seen:
            errors.append((row, col("code"), code, f"序号 {code} 重复"))
        seen.add(code)
        if not item.get("name"):
            errors.append((row, col("item"), None, "评估项目名称必填"))
        rules = item.get("rules") or []
        if not rules:
            errors.append((row, col("rules"), None, "至少一条评分细则"))
        for rule in rules:
            if problem := check_rule(rule):
                errors.append((row, col("rules"), str(rule.get("text", "")), problem))
        if not xlsx and rules and all(check_rule(r) is None for r in rules):
            total = item_max(rules)
            if item.get("points") is not None and abs(float(item["points"]) - total) > 1e-6:
                errors.append((row, "points", str(item["points"]), f"分值与评分细则合计 {_num(total)} 不符"))
            item["points"] = total
        source = str(item.get("data_source") or "manual")
        if source != "manual" and not any(r.get("method") == "metric_band" for r in rules):
            errors.append(
                (row, col("source") if xlsx else "data_source", source, "登记台账指标须配“≥95%得3分”这样的分档细则")
            )
        if not item.get("evidence"):
            errors.append((row, col("evidence"), None, "至少一项档案资料"))
        for ev in item.get("evidence") or []:
            if ev.get("frequency") not in FREQUENCIES:
                errors.append(
                    (row, col("evidence"), str(ev.get("frequency")), "报送频次应为 monthly、quarterly、yearly、once")
                )
            bad = [k for k in ev.get("kinds") or [] if k not in FILE_KINDS]
            if bad or not ev.get("kinds"):
                errors.append((row, col("evidence"), "、".join(bad), "文件类型应为 pdf、image、office、ofd"))
        if not xlsx and item.get("lead_unit") and item["lead_unit"] not in directory.units:
            errors.append((row, "lead_unit", item["lead_unit"], "未知的责任单位"))
    return errors


def spec_to_yaml(spec: Mapping[str, Any]) -> bytes:
    return yaml.safe_dump(dict(spec), allow_unicode=True, sort_keys=False, width=120).encode("utf-8")


def spec_to_xlsx(spec: Mapping[str, Any], directory: UnitDirectory) -> Iterator[bytes]:
    rows = []
    for category, item in _items(spec):
        rows.append(
            {
                "code": item["code"],
                "category": category,
                "item": item["name"],
                "points": item["points"],
                "rules": "\n".join(rule_text(r) for r in item["rules"]),
                "evidence": "\n".join(evidence_text(e) for e in item["evidence"]),
                "units": format_units(directory, [item["lead_unit"], *item["co_units"]]),
                "source": item.get("data_source") if item.get("data_source", "manual") != "manual" else "手工",
            }
        )
    return stream_xlsx(EXPORT_COLUMNS, rows, sheet_title="评估细则")


def describe_rule(rule: Mapping[str, Any]) -> str:
    """``"地方性法规2分或政府规章1分（多选一（取最高），最高 2 分）"``: for pages."""
    return f"{rule_text(rule)}［{METHOD_LABELS.get(rule.get('method', ''), '')}，最高 {_num(rule_max(rule))} 分］"
