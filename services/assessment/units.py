"""Unit names as offices write them, matched to registry member units (by name, alias or habit).

The registry's unit list comes over HTTP (``GET /units``); the office's own aliases live in the
``unit_alias`` table; a few habits are known here (the 市 prefix left out, 人民政府 left out of a
county's name, the everyday short names of bureaus).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Everyday names -> the registry's names (the registry's demo names the bureaus this way).
HABITUAL_NAMES: dict[str, str] = {
    "分类办": "市垃圾分类办",
    "市分类办": "市垃圾分类办",
    "市生活垃圾分类办": "市垃圾分类办",
    "城管局": "市城管执法局",
    "市城管局": "市城管执法局",
    "城市管理局": "市城管执法局",
    "市城市管理局": "市城管执法局",
    "城管执法局": "市城管执法局",
    "市城市管理执法局": "市城管执法局",
    "住房和城乡建设局": "市住建局",
    "市住房和城乡建设局": "市住建局",
    "市场监督管理局": "市市场监管局",
    "市市场监督管理局": "市市场监管局",
    "市场监管局": "市市场监管局",
    "文广旅局": "市文化广电和旅游局",
    "市文广旅局": "市文化广电和旅游局",
    "文旅局": "市文化广电和旅游局",
    "机关事务局": "市机关事务管理局",
    "市机关事务局": "市机关事务管理局",
    "发展改革委": "市发改委",
    "市发展改革委": "市发改委",
    "市发展和改革委员会": "市发改委",
    "卫生健康委": "市卫健委",
    "市卫生健康委": "市卫健委",
    "组织部": "市委组织部",
    "宣传部": "市委宣传部",
    "邮政局": "市邮政管理局",
    "供销社": "市供销社",
}
ALL_COUNTIES = ("各县（市、区）", "各县(市、区)", "各县（区）", "各县区", "各县（市）区", "各县市区")
_SPLIT = re.compile(r"[,，、;；/\n\s]+")
_LEAD_MARK = re.compile(r"[（(](牵头|牵头单位|主责)[)）]")


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str
    kind: str
    county_code: str | None


def _norm(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().replace(" ", "")


class UnitDirectory:
    """Registry units plus aliases; ``match`` answers a code or None."""

    def __init__(self, units: Iterable[Mapping[str, Any]], aliases: Mapping[str, str] = {}) -> None:
        self.units = {
            u["code"]: Unit(u["code"], u["name"], u.get("kind") or "other", u.get("county_code")) for u in units
        }
        self._by_name = {_norm(u.name): u.code for u in self.units.values()}
        self._aliases = {_norm(a): c for a, c in aliases.items() if c in self.units}

    def counties(self) -> list[Unit]:
        return sorted((u for u in self.units.values() if u.kind == "county_government"), key=lambda u: u.code)

    def match(self, raw: str) -> str | None:
        name = _norm(_LEAD_MARK.sub("", raw))
        if not name:
            return None
        if name in self.units:
            return name
        for candidate in (name, HABITUAL_NAMES.get(name), "市" + name, name + "人民政府", name.removeprefix("市")):
            if candidate is None:
                continue
            if candidate in self._aliases:
                return self._aliases[candidate]
            if candidate in self._by_name:
                return self._by_name[candidate]
            habitual = HABITUAL_NAMES.get(candidate)
            if habitual and habitual in self._by_name:
                return self._by_name[habitual]
        return None

    def name(self, code: str) -> str:
        unit = self.units.get(code)
        return unit.name if unit else code

    def county_of(self, code: str) -> str | None:
        unit = self.units.get(code)
        return unit.county_code if unit else None

    def parse_list(self, text: str) -> tuple[list[str], list[str]]:
        """``"分类办, 司法局；各县（市、区）"`` -> (codes in order without duplicates, unknown names)."""
        codes: list[str] = []
        unknown: list[str] = []
        for token in ALL_COUNTIES:
            if token in text:
                text = text.replace(token, " @COUNTIES@ ")
        for part in _SPLIT.split(text):
            if not part:
                continue
            if part == "@COUNTIES@":
                found = [u.code for u in self.counties()]
                if not found:
                    unknown.append("各县（市、区）")
            else:
                code = self.match(part)
                found = [code] if code else []
                if not code:
                    unknown.append(part)
            codes += [c for c in found if c not in codes]
        return codes, unknown


def format_units(directory: UnitDirectory, codes: Sequence[str]) -> str:
    return "、".join(directory.name(c) for c in codes)
