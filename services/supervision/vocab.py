"""The supervision service's words: finding categories, severities, target kinds, states,
enforcement departments and actions, and the Chinese labels of its API fields (``app.py``
registers them with the app).

The codes are the ``Literal`` types below (what the API accepts and documents); their Chinese
names and the field labels are data, kept in ``vocab.json``. Each table of names is checked at
import against its type: the same codes in the same order, so a code added to one and not the
other fails at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args

from services.common.kinds import FACILITY_KIND_NAMES

_WORDS: dict[str, dict[str, str]] = json.loads(Path(__file__).with_name("vocab.json").read_text("utf-8"))


def _names(table: str, codes: Any = None) -> dict[str, str]:
    """The names in ``vocab.json``'s ``table``; with ``codes`` (a ``Literal``), checked against it."""
    names = _WORDS[table]
    if codes is not None and tuple(names) != get_args(codes):
        raise RuntimeError(f"vocab.json 的 {table} 与 {codes} 的编码不一致")
    return names


FindingCategory = Literal[
    "mixed_disposal",
    "overflow",
    "illegal_dumping",
    "signage",
    "facility_damage",
    "records_missing",
    "notice_board_missing",
    "vehicle_mixed_loading",
    "other",
]
FINDING_CATEGORIES: tuple[str, ...] = get_args(FindingCategory)
CATEGORY_NAMES = _names("category", FindingCategory)

Severity = Literal["minor", "major", "severe"]
SEVERITY_NAMES = _names("severity", Severity)

ItemType = Literal["yesno", "score", "count", "text", "photo"]
ITEM_TYPE_NAMES = _names("item_type", ItemType)

# What a plan inspects: a registry record kind, or a member unit, or a county.
TargetSource = Literal["site", "facility", "vehicle", "unit", "county"]
SOURCE_NAMES = _names("source", TargetSource)
SITE_KINDS = _names("site_kind")
FACILITY_KINDS = FACILITY_KIND_NAMES


def target_kinds() -> dict[str, str]:
    """Every checklist target kind: ``site:<kind>``, ``facility:<kind>``, ``vehicle``, ``unit``, ``county``."""
    kinds = {f"site:{k}": v for k, v in SITE_KINDS.items()}
    kinds |= {f"facility:{k}": v for k, v in FACILITY_KINDS.items()}
    kinds |= {"vehicle": "收运车辆", "unit": "成员单位", "county": "县区"}
    return kinds


TARGET_KINDS = target_kinds()

RectState = Literal["issued", "accepted", "fix_submitted", "verified"]
RECT_STATE_NAMES = _names("rect_state", RectState)
RectAction = Literal["accept", "submit_fix", "verify", "reject"]
ACTION_NAMES = _names("rect_action", RectAction)

Department = Literal["urban_management", "housing", "market_regulation", "commerce", "ecology", "culture_tourism"]
DEPARTMENT_NAMES = _names("department", Department)
EnforcementAction = Literal["order", "warning", "fine"]
ENFORCEMENT_ACTION_NAMES = _names("enforcement_action", EnforcementAction)

LABELS = _names("labels")
