"""Unified numbering (统一编号): a template per record kind and one counter per (county, kind).

The counter is taken with one atomic ``UPDATE number_counter SET next_value = next_value + 1
... RETURNING``: on PostgreSQL the row lock queues concurrent registrations, on SQLite the write
transaction (BEGIN IMMEDIATE) does. A number once taken is never given again, even when the record
is decommissioned or the transaction that took it rolled back later; codes never change.

Template fields: ``county_code``, ``seq`` (use a format spec such as ``{seq:05d}``), ``kind``
(the record's kind, e.g. ``bin_group``), ``category`` and ``category_mark`` (vehicles: recyclable
R, hazardous H, kitchen K, residual Q (其他), bulky B; facilities add mixed M; sites use their
kind's letter). ``category_letter`` is the same but residual O: the vehicle default of earlier
versions (``LEGACY_VEHICLE_TEMPLATE``), kept by an installation that has already issued such
numbers (``Settings.code_template(..., legacy_residual=True)``), so its sequence does not change
letters; new installations get no O or I, which read as 0 and 1.
"""

from __future__ import annotations

import string

LEGACY_VEHICLE_TEMPLATE = "{county_code}-{category_letter}{seq:05d}"
DEFAULT_TEMPLATES = {
    "vehicle": "{county_code}-{category_mark}{seq:05d}",
    "facility": "{county_code}-F{seq:06d}",
    "site": "{county_code}-S{seq:06d}",
}
CATEGORY_LETTERS = {
    "recyclable": "R",
    "hazardous": "H",
    "kitchen": "K",
    "residual": "O",
    "bulky": "B",
    "mixed": "M",
}
CATEGORY_MARKS = {**CATEGORY_LETTERS, "residual": "Q"}  # no O or I
SITE_LETTERS = {
    "residential": "R",
    "public_institution": "G",
    "public_place": "P",
    "business_area": "B",
    "education": "E",
    "medical": "M",
    "farmers_market": "F",
}
FIELDS = {"county_code", "seq", "kind", "category", "category_letter", "category_mark"}


def check_template(template: str) -> None:
    """``ValueError`` unless the template is well-formed, uses known fields and keeps codes unique."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"编号模板格式不正确：{exc}") from exc
    unknown = names - FIELDS
    if unknown:
        raise ValueError(f"编号模板含有未知字段：{', '.join(sorted(unknown))}（可用 {', '.join(sorted(FIELDS))}）")
    if not {"county_code", "seq"} <= names:
        raise ValueError("编号模板必须包含 {county_code} 和 {seq}，否则编号不唯一")
    try:
        render(template, county_code="360102", seq=1, kind="x", category="kitchen")
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"编号模板格式不正确：{exc}") from exc


def render(template: str, *, county_code: str, seq: int, kind: str = "", category: str | None = None) -> str:
    """The code for one record."""
    site = SITE_LETTERS.get(kind, "X")
    letter = CATEGORY_LETTERS.get(category or "", "") or site
    mark = CATEGORY_MARKS.get(category or "", "") or site
    return template.format(
        county_code=county_code, seq=seq, kind=kind, category=category or "", category_letter=letter, category_mark=mark
    )
