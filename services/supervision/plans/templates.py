"""The demo checklist templates (示例), one per target kind, from the typical checks of
domain.md section 5 (混投混放, 满溢, 偷倒, 标识不规范, 设施破损, 台账缺失, 公示牌缺失, 收运车辆混装)."""

from __future__ import annotations

from typing import Any

from services.supervision.vocab import FACILITY_KINDS, SITE_KINDS


def _i(item_id: str, label: str, kind: str, category: str | None = None, **extra: Any) -> dict[str, Any]:
    item = {"id": item_id, "label": label, "type": kind, "weight": extra.pop("weight", 1.0), "required": True}
    item |= {"max": None, "category": category, "pass_min": None, "pass_max": None} | extra
    return item


_BINS = [
    _i("bins", "四分类收集容器齐全、完好", "yesno", "facility_damage", weight=2.0),
    _i("signage", "容器标识符合 GB/T 19095-2019", "yesno", "signage"),
    _i("quality", "分类投放质量（0-10 分）", "score", "mixed_disposal", max=10, pass_min=6, weight=3.0),
    _i("overflow", "满溢容器数量", "count", "overflow", pass_max=0),
    _i("dumping", "周边无偷倒乱堆", "yesno", "illegal_dumping"),
]
_BOARD = _i("board", "公示牌（投放时间、责任人、监督电话）齐全", "yesno", "notice_board_missing")
_LEDGER = _i("ledger", "分类台账完整", "yesno", "records_missing")
_PHOTO = _i("photo", "现场全景照片", "photo")
_NOTE = _i("note", "其他情况", "text", required=False)

_SITE_EXTRA = {
    "residential": [_i("guide", "有桶边督导或志愿者值守", "yesno", "other")],
    "farmers_market": [_i("kitchen", "厨余垃圾单独收集、日产日清", "yesno", "mixed_disposal")],
    "medical": [_i("medical_waste", "生活垃圾与医疗废物分开", "yesno", "mixed_disposal", weight=3.0)],
    "education": [_i("lessons", "开展分类教育（进课堂）", "yesno", "other")],
}
_FACILITY_EXTRA = {
    "hazardous_store": [_i("hazard", "有害垃圾分类暂存、有防渗和标识", "yesno", "facility_damage", weight=3.0)],
    "transfer_station": [_i("separate", "分类转运，无混装", "yesno", "vehicle_mixed_loading", weight=3.0)],
    "collection_station": [_i("separate", "分类收集，无混装", "yesno", "vehicle_mixed_loading", weight=2.0)],
    "recycling_point": [_i("price", "回收品种与价格公示", "yesno", "notice_board_missing")],
}


# The templates of the other target kinds: (code, whose, target kind, items).
_OTHERS = [
    (
        "DEMO-V",
        "收运车辆",
        "vehicle",
        [
            _i("separate", "分类收运，无混装", "yesno", "vehicle_mixed_loading", weight=3.0),
            _i("paint", "车身分类标识规范", "yesno", "signage"),
            _i("sealed", "密闭无滴漏", "yesno", "facility_damage"),
            _LEDGER,
            _PHOTO,
            _NOTE,
        ],
    ),
    (
        "DEMO-U",
        "成员单位履职",
        "unit",
        [
            _i("duties", "责任清单任务按期推进（0-10 分）", "score", "other", max=10, pass_min=6, weight=3.0),
            _i("office", "本单位办公场所分类到位", "yesno", "mixed_disposal"),
            _LEDGER,
            _NOTE,
        ],
    ),
    (
        "DEMO-C",
        "县区",
        "county",
        [
            _i("coverage", "居民小区分类覆盖率达标", "yesno", "other", weight=3.0),
            _i("hazard_store", "有害垃圾暂存点运行正常", "yesno", "facility_damage"),
            _i("patrol", "本月社区巡查次数", "count", "records_missing", pass_min=4),
            _LEDGER,
            _NOTE,
        ],
    ),
]


def _template(code: str, whose: str, target_kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"code": code, "name": f"{whose}督导检查表（示例）", "target_kind": target_kind, "items": items}


def demo_templates() -> list[dict[str, Any]]:
    """``[{code, name, target_kind, items}]``: a 示例 template per target kind."""
    out = []
    for kind, name in SITE_KINDS.items():
        items = [*_BINS, _BOARD, _LEDGER, *_SITE_EXTRA.get(kind, []), _PHOTO, _NOTE]
        out.append(_template(f"DEMO-S-{kind}", name, f"site:{kind}", items))
    for kind, name in FACILITY_KINDS.items():
        base = [*_BINS[:2], _BINS[3]] if kind in ("bin_group", "smart_box", "drop_point") else [_BINS[0], _BINS[4]]
        items = [*base, _LEDGER, *_FACILITY_EXTRA.get(kind, []), _PHOTO, _NOTE]
        out.append(_template(f"DEMO-F-{kind}", name, f"facility:{kind}", items))
    return out + [_template(*other) for other in _OTHERS]
