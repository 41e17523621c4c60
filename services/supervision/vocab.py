"""The supervision service's words: finding categories, severities, target kinds, states,
enforcement departments and actions, and the Chinese labels of its API fields (``app.py``
registers them with the app)."""

from __future__ import annotations

from typing import Literal, get_args

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
CATEGORY_NAMES = {
    "mixed_disposal": "混投混放",
    "overflow": "满溢",
    "illegal_dumping": "偷倒",
    "signage": "标识不规范",
    "facility_damage": "设施破损",
    "records_missing": "台账缺失",
    "notice_board_missing": "公示牌缺失",
    "vehicle_mixed_loading": "收运车辆混装",
    "other": "其他",
}

Severity = Literal["minor", "major", "severe"]
SEVERITY_NAMES = {"minor": "一般", "major": "较重", "severe": "严重"}

ItemType = Literal["yesno", "score", "count", "text", "photo"]
ITEM_TYPE_NAMES = {"yesno": "是/否", "score": "评分", "count": "计数", "text": "文字", "photo": "须拍照"}

# What a plan inspects: a registry record kind, or a member unit, or a county.
TargetSource = Literal["site", "facility", "vehicle", "unit", "county"]
SOURCE_NAMES = {"site": "管理对象", "facility": "设施", "vehicle": "收运车辆", "unit": "成员单位", "county": "县区"}
SITE_KINDS = {
    "residential": "居民小区",
    "public_institution": "公共机构",
    "public_place": "公共场所",
    "business_area": "经营区域",
    "education": "教育机构",
    "medical": "医疗机构",
    "farmers_market": "农贸市场",
}
FACILITY_KINDS = {
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


def target_kinds() -> dict[str, str]:
    """Every checklist target kind: ``site:<kind>``, ``facility:<kind>``, ``vehicle``, ``unit``, ``county``."""
    kinds = {f"site:{k}": v for k, v in SITE_KINDS.items()}
    kinds |= {f"facility:{k}": v for k, v in FACILITY_KINDS.items()}
    kinds |= {"vehicle": "收运车辆", "unit": "成员单位", "county": "县区"}
    return kinds


TARGET_KINDS = target_kinds()

RectState = Literal["issued", "accepted", "fix_submitted", "verified"]
RECT_STATE_NAMES = {"issued": "已下发", "accepted": "已签收", "fix_submitted": "已提交整改", "verified": "已销号"}
RectAction = Literal["accept", "submit_fix", "verify", "reject"]
ACTION_NAMES = {"accept": "签收", "submit_fix": "提交整改", "verify": "销号", "reject": "驳回"}

Department = Literal["urban_management", "housing", "market_regulation", "commerce", "ecology", "culture_tourism"]
DEPARTMENT_NAMES = {
    "urban_management": "城管执法",
    "housing": "住建",
    "market_regulation": "市场监管",
    "commerce": "商务",
    "ecology": "生态环境",
    "culture_tourism": "文广旅",
}
EnforcementAction = Literal["order", "warning", "fine"]
ENFORCEMENT_ACTION_NAMES = {"order": "责令改正", "warning": "警告", "fine": "罚款"}

LABELS = {
    "code": "编号",
    "name": "名称",
    "leader": "组长",
    "members": "组员",
    "counties": "负责县区",
    "target_kind": "检查对象类型",
    "items": "检查项",
    "label": "检查项名称",
    "type": "类型",
    "max": "满分",
    "weight": "权重",
    "required": "必填",
    "category": "问题类别",
    "starts_on": "开始日期",
    "ends_on": "结束日期",
    "team_code": "督导组",
    "checklist_id": "检查表",
    "source": "检查对象来源",
    "kinds": "对象类型",
    "sample_per_county": "每县区抽样数",
    "seed": "随机种子",
    "per_inspector_per_day": "每人每天检查数",
    "plan_id": "督导计划",
    "target_code": "检查对象编号",
    "answers": "检查结果",
    "item_id": "检查项",
    "value": "结果",
    "note": "备注",
    "photo_ids": "照片",
    "latitude": "纬度",
    "longitude": "经度",
    "accuracy_m": "定位精度（米）",
    "taken_at": "拍摄/检查时间",
    "replaces": "更正的检查",
    "severity": "严重程度",
    "description": "问题描述",
    "party_kind": "责任主体类型",
    "party_code": "责任主体",
    "action": "操作",
    "reason": "理由",
    "department": "执法部门",
    "on_date": "日期",
    "site_code": "管理对象编号",
    "business_name": "经营者名称",
    "finding": "检查发现",
    "amount": "罚款金额",
    "case_number": "案件编号",
    "quarter": "季度",
    "summary": "报告摘要",
    "number": "文号",
    "addressees": "主送",
    "signer": "发文机关署名",
    "cursor": "游标",
    "photo": "照片",
}
