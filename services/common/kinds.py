"""The names of the registry's record kinds, for every service that shows or checks them (the
registry validates them; supervision plans inspect targets of these kinds). Kinds are stable
codes shared across services, so their Chinese names are kept once, here."""

from __future__ import annotations

FACILITY_KIND_NAMES = {
    "bin_group": "四分类桶组",
    "smart_box": "智能分类投放箱",
    "drop_point": "集中投放点（站）",
    "hazardous_store": "有害垃圾暂存点",
    "recycling_point": "可回收物回收网点",
    "sorting_center": "分拣中心/打包站",
    "collection_station": "收集站",
    "transfer_station": "转运站",
    "treatment_incineration": "焚烧处理设施",
    "treatment_kitchen": "厨余垃圾处理设施",
    "treatment_landfill": "填埋场",
    "treatment_hazardous": "有害垃圾处理设施",
}
