"""The demo catalogue (示例): built from domain.md section 1 (rows reconstructed from the Lu'an 2024 and
Yinchuan 2025 published task lists) and extended to every category, 44 items, 100 points; the units
are the registry demo's member units (codes U01-U40, see the registry's demo)."""

from __future__ import annotations

from typing import Any

# The registry demo's member units: code -> (name, kind, county). Counties U21-U29 in division order.
COUNTY_CODES = ["360102", "360103", "360104", "360111", "360112", "360113", "360121", "360123", "360124"]
COUNTY_NAMES = ["东湖区", "西湖区", "青云谱区", "青山湖区", "新建区", "红谷滩区", "南昌县", "安义县", "进贤县"]
_BUREAUS = [
    "市垃圾分类办", "市司法局", "市城管执法局", "市住建局", "市市场监管局", "市商务局", "市生态环境局",
    "市文化广电和旅游局", "市邮政管理局", "市机关事务管理局", "市教育局", "市卫健委", "市发改委", "市民政局",
    "市委组织部", "市委宣传部", "市总工会", "团市委", "市妇联", "市供销社",
]  # fmt: skip
_LATER = [
    "市财政局", "市自然资源和规划局", "市交通运输局", "市农业农村局", "市公安局", "市水利局", "市国资委",
    "市工信局", "市统计局", "市科技局", "市人社局",
]  # fmt: skip


def demo_units() -> list[dict[str, Any]]:
    units = [
        {"code": f"U{i:02d}", "name": n, "kind": "municipal_bureau", "county_code": None}
        for i, n in enumerate(_BUREAUS, 1)
    ]
    units += [
        {"code": f"U{21 + i:02d}", "name": f"{n}人民政府", "kind": "county_government", "county_code": c}
        for i, (c, n) in enumerate(zip(COUNTY_CODES, COUNTY_NAMES, strict=True))
    ]
    units += [
        {"code": f"U{30 + i:02d}", "name": n, "kind": "municipal_bureau", "county_code": None}
        for i, n in enumerate(_LATER)
    ]
    return units


COUNTIES = [f"U{21 + i:02d}" for i in range(9)]


def _aon(text: str, points: float) -> dict[str, Any]:
    return {"text": text, "points": points, "method": "all_or_nothing"}


def _ev(title: str, frequency: str = "quarterly", kinds: list[str] | None = None) -> dict[str, Any]:
    return {"title": title, "frequency": frequency, "kinds": kinds or ["pdf", "image", "office"]}


def _band(metric: str, text: str, points: float, bands: list[tuple[float, float]]) -> dict[str, Any]:
    return {
        "text": text,
        "points": points,
        "method": "metric_band",
        "metric": metric,
        "bands": [{"min": lo, "points": p} for lo, p in bands],
    }


# (category, [(name, rules, evidence, units, data_source)])
ITEMS: list[tuple[str, list[tuple[str, list[dict[str, Any]], list[dict[str, Any]], list[str], str]]]] = [
    (
        "体制机制建设",
        [
            (
                "落实城市主体责任，主要负责同志是第一责任人",
                [_aon("市、区建立领导小组", 2), _aon("主要负责同志任组长", 1)],
                [_ev("成立领导小组的正式文件", "once", ["pdf"]), _ev("组长姓名及分工")],
                ["U01"],
                "manual",
            ),
            (
                "出台（含修订）地方性法规或政府规章",
                [
                    {
                        "text": "地方性法规2分或政府规章1分",
                        "points": 2,
                        "method": "either_or",
                        "alternatives": [{"label": "地方性法规", "points": 2}, {"label": "政府规章", "points": 1}],
                    }
                ],
                [_ev("法规/规章文本", "once", ["pdf"])],
                ["U02", "U01"],
                "manual",
            ),
            (
                "工作体制健全",
                [_aon("各级党组织协同联动", 3), _aon("部门协同形成合力", 2)],
                [_ev("协同联动材料、活动情况描述"), _ev("工作机制及成效说明")],
                ["U15", "U03"],
                "manual",
            ),
            (
                "分类设施管理制度完善",
                [_aon("分类指导目录", 1), _aon("设施配置指导", 1), _aon("设施运行管理规范", 1)],
                [_ev("指导目录、配置规范、运行规范", "yearly")],
                ["U03"],
                "manual",
            ),
            (
                "与分类挂钩的收费机制",
                [_aon("建立并有效实施", 2)],
                [_ev("收费标准及成效说明", "yearly")],
                ["U03", "U13"],
                "manual",
            ),
            (
                "成员单位考核机制",
                [_aon("建立成员单位考核办法并通报结果", 2)],
                [_ev("考核办法及通报")],
                ["U01"],
                "manual",
            ),
            (
                "分类工作经费保障",
                [_aon("经费列入财政预算", 1)],
                [_ev("预算安排文件", "yearly", ["pdf"])],
                ["U30"],
                "manual",
            ),
        ],
    ),
    (
        "推动源头减量",
        [
            ("限制商品过度包装", [_aon("采取有效措施", 1)], [_ev("落实材料")], ["U05", "U06", "U09"], "manual"),
            (
                "禁止、限制部分一次性塑料制品",
                [_aon("采取有效措施", 1)],
                [_ev("落实材料")],
                ["U13", "U06", "U07", "U05"],
                "manual",
            ),
            (
                "旅游、住宿业不主动提供一次性用品",
                [_aon("采取有效措施", 1)],
                [_ev("落实材料")],
                ["U08", "U06"],
                "manual",
            ),
            ("快递包装绿色转型", [_aon("快递包装减量措施落实", 1)], [_ev("快递包装减量工作台账")], ["U09"], "manual"),
            ("光盘行动与反食品浪费", [_aon("出台制度并开展行动", 2)], [_ev("制度文件及活动照片")], ["U06"], "manual"),
            (
                "党政机关绿色办公",
                [_aon("推行无纸化办公、减少一次性用品", 2)],
                [_ev("绿色办公落实情况")],
                ["U10"],
                "manual",
            ),
            (
                "公共机构带头分类",
                [_aon("签订责任承诺书", 1), _aon("开展检查评估", 1)],
                [_ev("责任承诺书", "yearly", ["pdf", "image"])],
                ["U10", "U11", "U12"],
                "manual",
            ),
        ],
    ),
    (
        "分类投放",
        [
            (
                "居民小区生活垃圾分类覆盖率",
                [
                    _band(
                        "residential_coverage",
                        "居民小区生活垃圾分类覆盖率",
                        4,
                        [(0.95, 4), (0.9, 3), (0.85, 2), (0.8, 1)],
                    )
                ],
                [_ev("覆盖率统计台账", "monthly", ["pdf", "office"])],
                ["U03", *COUNTIES],
                "registry:residential_coverage",
            ),
            (
                "改造提升投放点（站）",
                [_aon("改造提升投放点数量占比达标", 3)],
                [_ev("投放点改造清单及照片")],
                ["U03"],
                "manual",
            ),
            (
                "公共机构分类全覆盖",
                [_band("public_institution_coverage", "公共机构分类覆盖率", 3, [(1.0, 3), (0.95, 2), (0.9, 1)])],
                [_ev("公共机构分类覆盖台账", "quarterly", ["pdf", "office"])],
                ["U10"],
                "registry:public_institution_coverage",
            ),
            (
                "学校分类全覆盖",
                [_band("school_coverage", "学校分类覆盖率", 2, [(1.0, 2), (0.9, 1)])],
                [_ev("学校分类覆盖台账")],
                ["U11"],
                "registry:school_coverage",
            ),
            (
                "医疗机构分类全覆盖",
                [_band("hospital_coverage", "医疗机构分类覆盖率", 2, [(1.0, 2), (0.9, 1)])],
                [_ev("医疗机构分类覆盖台账")],
                ["U12"],
                "registry:hospital_coverage",
            ),
            (
                "经营区域分类设施配置",
                [_aon("农贸市场、商铺设施配置到位", 2)],
                [_ev("经营区域设施清单")],
                ["U05", "U06"],
                "manual",
            ),
            (
                "混投混放日常执法",
                [{"text": "混投混放", "points": 4, "method": "deduction", "per_case": 0.5, "floor": 0}],
                [_ev("执法台账", "monthly")],
                ["U03", "U04", "U05", "U06", "U07", "U08"],
                "manual",
            ),
        ],
    ),
    (
        "分类收集",
        [
            ("收集点设置规范", [_aon("收集点标识统一、容器完好", 3)], [_ev("收集点检查记录")], ["U03"], "manual"),
            ("有害垃圾收集", [_aon("有害垃圾暂存点规范设置", 3)], [_ev("暂存点清单及照片")], ["U07"], "manual"),
            (
                "再生资源回收网络（两网融合）",
                [_aon("回收网点与分类网点融合", 2)],
                [_ev("两网融合实施方案及成效")],
                ["U06", "U20"],
                "manual",
            ),
            ("大件垃圾和装修垃圾收集", [_aon("设置大件垃圾收集点", 2)], [_ev("收集点清单")], ["U03"], "manual"),
        ],
    ),
    (
        "分类运输",
        [
            (
                "专车专运、不混装混运",
                [_aon("分类运输车辆专车专运", 4)],
                [_ev("运输车辆台账", "monthly", ["pdf", "office"])],
                ["U03"],
                "manual",
            ),
            (
                "运输车辆标识规范",
                [_aon("车辆喷涂分类标识", 2)],
                [_ev("车辆照片", "quarterly", ["image", "pdf"])],
                ["U03"],
                "manual",
            ),
            ("有害垃圾规范运输", [_aon("委托有资质单位运输", 2)], [_ev("运输合同及转移联单")], ["U07"], "manual"),
            ("收运车辆通行保障", [_aon("出台通行管理措施", 2)], [_ev("通行管理文件")], ["U32", "U34"], "manual"),
        ],
    ),
    (
        "分类处理",
        [
            (
                "厨余垃圾处理能力",
                [_aon("处理能力满足需求", 3)],
                [_ev("处理设施运行报表", "monthly")],
                ["U03"],
                "manual",
            ),
            ("焚烧处理能力", [_aon("原生垃圾零填埋", 3)], [_ev("焚烧厂运行报表", "monthly")], ["U03"], "manual"),
            (
                "回收利用率",
                [
                    {
                        "text": "回收利用率",
                        "points": 3,
                        "method": "stepped",
                        "baseline": 0.35,
                        "step": 0.1,
                        "per_step": 1,
                        "base_points": 1,
                    }
                ],
                [_ev("回收利用率测算表", "quarterly", ["pdf", "office"])],
                ["U03", "U38"],
                "manual",
            ),
            ("有害垃圾规范处置", [_aon("有害垃圾全部无害化处置", 2)], [_ev("处置单位资质及台账")], ["U07"], "manual"),
            ("生活垃圾无害化处理率", [_aon("无害化处理率达到100%", 3)], [_ev("无害化处理统计表")], ["U03"], "manual"),
        ],
    ),
    (
        "宣传教育",
        [
            ("宣传发动", [_aon("主流媒体开设专栏", 2)], [_ev("宣传报道清单")], ["U16"], "manual"),
            ("进校园、进课堂", [_aon("纳入中小学教育内容", 2)], [_ev("课程安排及活动照片")], ["U11"], "manual"),
            ("志愿服务", [_aon("组织志愿者开展桶边督导", 2)], [_ev("志愿服务记录")], ["U18"], "manual"),
            ("家庭分类宣传", [_aon("开展家庭分类主题活动", 1)], [_ev("活动材料")], ["U19"], "manual"),
            ("职工宣传动员", [_aon("开展职工分类培训", 1)], [_ev("培训材料")], ["U17"], "manual"),
            ("曝光与通报", [_aon("定期曝光不分类行为", 2)], [_ev("曝光通报材料")], ["U16", "U01"], "manual"),
        ],
    ),
    (
        "基层治理/党建引领",
        [
            ("党建引领垃圾分类", [_aon("将分类纳入基层党建考核", 3)], [_ev("党建考核文件")], ["U15"], "manual"),
            (
                "市、区、街道、社区四级联动",
                [_aon("建立四级联动机制", 2)],
                [_ev("联动机制及会议纪要")],
                ["U15", *COUNTIES],
                "manual",
            ),
            ("居民自治", [_aon("分类纳入居民公约", 2)], [_ev("居民公约样本")], ["U14"], "manual"),
            ("农村生活垃圾分类", [_aon("开展农村分类试点", 1)], [_ev("试点工作材料")], ["U33"], "manual"),
        ],
    ),
]

NAME = "示例 城市生活垃圾分类工作评估细则"
NOTE = "示例：据六安（2024）、银川（2025）公开任务清单重构并扩展到全部类别，分值仅供演示"


def demo_spec() -> dict[str, Any]:
    categories = []
    for c_index, (category, items) in enumerate(ITEMS, start=1):
        out = []
        for i_index, (name, rules, evidence, units, source) in enumerate(items, start=1):
            out.append(
                {
                    "code": f"{c_index}.{i_index}",
                    "name": name,
                    "rules": rules,
                    "evidence": [e | {"code": f"e{n}"} for n, e in enumerate(evidence, start=1)],
                    "lead_unit": units[0],
                    "co_units": units[1:],
                    "data_source": source,
                }
            )
        categories.append({"name": category, "items": out})
    return {"name": NAME, "note": NOTE, "categories": categories}
