"""The demo city (示例): a Nanchang-like city with 9 counties, ~30 streets, 300 communities, 40
member units, ~1,000 sites, ``size`` facilities and 400 vehicles (``size // 12`` for benchmark sizes),
all generated deterministically.

The same generator builds the benchmark data (``size=100_000`` or ``1_000_000``). It writes with
bulk Core inserts (PostgreSQL: ``COPY``), takes the unified numbers from the same templates and
afterwards sets the numbering counters so later registrations continue each sequence. Each seeded
record gets the history row a registration writes (action ``created`` at its ``created_at``, by
``system:demo`` 示例数据; a decommissioned demo site also its ``decommissioned`` row), so a record's
page shows how it came to be; seeded rows get no outbox events (nobody downstream should act on
them). Seeding twice adds nothing (the city division marks a seeded database).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Table, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from services.registry import numbering, repository
from services.registry.bulk import repository as bulk_repository
from services.registry.config import Settings
from services.registry.models import (
    counter_t,
    division_t,
    facility_t,
    site_t,
    unit_t,
    vehicle_t,
)
from services.registry.validation import PROVINCES

CITY = ("360100", "南昌市")
# code, name, centre (lat, lng), spread in degrees, streets (name, is_town)
COUNTIES: list[tuple[str, str, tuple[float, float], float, list[tuple[str, bool]]]] = [
    (
        "360102",
        "东湖区",
        (28.685, 115.903),
        0.02,
        [("公园街道", False), ("八一桥街道", False), ("百花洲街道", False), ("滕王阁街道", False)],
    ),
    (
        "360103",
        "西湖区",
        (28.662, 115.877),
        0.02,
        [("朝阳洲街道", False), ("桃源街道", False), ("十字街街道", False), ("南浦街道", False)],
    ),
    ("360104", "青云谱区", (28.621, 115.925), 0.02, [("洪都街道", False), ("京山街道", False), ("三家店街道", False)]),
    (
        "360111",
        "青山湖区",
        (28.682, 115.962),
        0.03,
        [("上海路街道", False), ("湖坊镇", True), ("京东镇", True), ("塘山镇", True)],
    ),
    ("360112", "新建区", (28.692, 115.815), 0.08, [("长堎镇", True), ("望城镇", True), ("生米镇", True)]),
    (
        "360113",
        "红谷滩区",
        (28.694, 115.858),
        0.02,
        [("红角洲街道", False), ("沙井街道", False), ("凤凰洲街道", False)],
    ),
    ("360121", "南昌县", (28.545, 115.944), 0.10, [("莲塘镇", True), ("向塘镇", True), ("武阳镇", True)]),
    ("360123", "安义县", (28.844, 115.549), 0.08, [("龙津镇", True), ("鼎湖镇", True), ("石鼻镇", True)]),
    ("360124", "进贤县", (28.377, 116.241), 0.10, [("民和镇", True), ("李渡镇", True), ("温圳镇", True)]),
]
# Residential coverage each county reaches (the demo shows a spread between 85 % and 95 %).
COVERAGE = {
    "360102": 0.95,
    "360103": 0.93,
    "360104": 0.90,
    "360111": 0.88,
    "360112": 0.86,
    "360113": 0.94,
    "360121": 0.87,
    "360123": 0.85,
    "360124": 0.86,
}
PLACE_WORDS = list("和平光明建设胜利幸福朝阳滨江丰和红星青云长春新华东风民主团结振兴前进永安富民文化")
ROADS = [
    "八一大道",
    "洪都大道",
    "北京西路",
    "阳明路",
    "井冈山大道",
    "叠山路",
    "象山北路",
    "红谷中大道",
    "丰和中大道",
    "昌南大道",
    "迎宾大道",
    "解放西路",
    "青山南路",
    "民强路",
    "富大有路",
    "新洲路",
]
RESIDENTIAL_SUFFIX = ["花园", "小区", "苑", "家园", "新村", "公寓", "华庭", "雅居"]
OTHER_SITES = {
    "public_institution": ["{c}机关事务中心", "{p}街道办事处", "{c}税务局", "{c}图书馆"],
    "public_place": ["{p}公园", "{p}广场", "{p}客运站", "{p}体育馆"],
    "business_area": ["{p}商业街", "{p}购物中心", "{p}步行街"],
    "education": ["{p}小学", "{p}中学", "{p}幼儿园"],
    "medical": ["{p}社区卫生服务中心", "{c}{p}医院"],
    "farmers_market": ["{p}农贸市场", "{p}菜市场"],
}
SITE_MIX = [
    ("residential", 0.62),
    ("public_institution", 0.1),
    ("public_place", 0.07),
    ("business_area", 0.06),
    ("education", 0.08),
    ("medical", 0.04),
    ("farmers_market", 0.03),
]
FACILITY_MIX = [
    ("bin_group", 0.55),
    ("smart_box", 0.12),
    ("drop_point", 0.15),
    ("hazardous_store", 0.03),
    ("recycling_point", 0.08),
    ("sorting_center", 0.01),
    ("collection_station", 0.04),
    ("transfer_station", 0.015),
    ("treatment_incineration", 0.0015),
    ("treatment_kitchen", 0.0015),
    ("treatment_landfill", 0.001),
    ("treatment_hazardous", 0.001),
]
FACILITY_CATEGORY = {
    "hazardous_store": "hazardous",
    "recycling_point": "recyclable",
    "sorting_center": "recyclable",
    "treatment_incineration": "residual",
    "treatment_kitchen": "kitchen",
    "treatment_landfill": "residual",
    "treatment_hazardous": "hazardous",
}
FACILITY_NAME = {
    "bin_group": "四分类桶组",
    "smart_box": "智能分类投放箱",
    "drop_point": "集中投放点",
    "hazardous_store": "有害垃圾暂存点",
    "recycling_point": "可回收物回收网点",
    "sorting_center": "分拣中心",
    "collection_station": "垃圾收集站",
    "transfer_station": "垃圾转运站",
    "treatment_incineration": "生活垃圾焚烧发电厂",
    "treatment_kitchen": "厨余垃圾处理厂",
    "treatment_landfill": "生活垃圾填埋场",
    "treatment_hazardous": "有害垃圾处置中心",
}
FACILITY_CAPACITY = {
    "bin_group": 960.0,
    "smart_box": 1200.0,
    "drop_point": 2400.0,
    "hazardous_store": 2.0,
    "recycling_point": 5.0,
    "sorting_center": 50.0,
    "collection_station": 30.0,
    "transfer_station": 300.0,
    "treatment_incineration": 2400.0,
    "treatment_kitchen": 800.0,
    "treatment_landfill": 1500.0,
    "treatment_hazardous": 20.0,
}
VEHICLE_CATEGORIES = [("residual", 0.35), ("kitchen", 0.25), ("recyclable", 0.2), ("bulky", 0.12), ("hazardous", 0.08)]
ENERGY = [
    ("diesel", 0.5),
    ("electric", 0.25),
    ("lng", 0.1),
    ("hybrid", 0.05),
    ("cng", 0.05),
    ("gasoline", 0.03),
    ("hydrogen", 0.02),
]
OPERATORS = [
    "示范环卫有限公司",
    "洪城环境服务有限公司",
    "赣江城市运营有限公司",
    "昌南环卫工程有限公司",
    "豫章再生资源有限公司",
]
_PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"

UNITS: list[tuple[str, str, str | None, str]] = [
    (
        "市垃圾分类办",
        "municipal_bureau",
        None,
        "牵头抓总、统筹协调；组建督导组，日常督导、向领导小组报告、向成员单位通报；建立成员单位考核",
    ),
    ("市司法局", "municipal_bureau", None, "会同分类办起草地方性法规或政府规章"),
    (
        "市城管执法局",
        "municipal_bureau",
        None,
        "居民小区投放设施覆盖与质量；投放-收集-运输-处理全链条；混投混放日常执法",
    ),
    ("市住建局", "municipal_bureau", None, "混投混放日常执法"),
    ("市市场监管局", "municipal_bureau", None, "限制过度包装和一次性用品；经营区域（市场、商铺）设施；混投混放执法"),
    ("市商务局", "municipal_bureau", None, "再生资源回收网络、两网融合、低值可回收物；光盘行动；经营区域设施"),
    ("市生态环境局", "municipal_bureau", None, "有害垃圾收集、运输、处置全链条及其规则"),
    ("市文化广电和旅游局", "municipal_bureau", None, "旅游、住宿业不主动提供一次性用品；混投混放执法"),
    ("市邮政管理局", "municipal_bureau", None, "快递包装减量"),
    ("市机关事务管理局", "municipal_bureau", None, "绿色办公；公共机构 100% 覆盖；与市直机关签订责任承诺书"),
    ("市教育局", "municipal_bureau", None, "学校分类全覆盖；进校园、进课堂"),
    ("市卫健委", "municipal_bureau", None, "医疗机构分类全覆盖"),
    ("市发改委", "municipal_bureau", None, "与分类挂钩的收费机制；禁限一次性塑料制品"),
    ("市民政局", "municipal_bureau", None, "居民自治中的垃圾分类"),
    ("市委组织部", "municipal_bureau", None, "党建引领；市、区、街道、社区四级联动"),
    ("市委宣传部", "municipal_bureau", None, "宣传发动；进机关、社区、企业、校园、课堂"),
    ("市总工会", "other", None, "职工宣传动员"),
    ("团市委", "other", None, "志愿服务"),
    ("市妇联", "other", None, "家庭分类宣传"),
    ("市供销社", "other", None, "再生资源回收网络"),
    *[(f"{name}人民政府", "county_government", code, "辖区分类工作主体责任") for code, name, _, _, _ in COUNTIES],
    ("市财政局", "municipal_bureau", None, "分类工作经费保障"),
    ("市自然资源和规划局", "municipal_bureau", None, "分类设施用地规划"),
    ("市交通运输局", "municipal_bureau", None, "收运车辆道路运输管理"),
    ("市农业农村局", "municipal_bureau", None, "农村生活垃圾分类"),
    ("市公安局", "municipal_bureau", None, "收运车辆通行管理"),
    ("市水利局", "municipal_bureau", None, "河湖沿岸垃圾治理"),
    ("市国资委", "municipal_bureau", None, "国有企业分类工作"),
    ("市工信局", "municipal_bureau", None, "资源化利用产业"),
    ("市统计局", "municipal_bureau", None, "分类统计口径"),
    ("市科技局", "municipal_bureau", None, "分类技术推广"),
    ("市人社局", "municipal_bureau", None, "分类岗位与培训"),
]
BATCH = 20_000


def _pick(rng: random.Random, mix: Sequence[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in mix], weights=[w for _, w in mix])[0]


def _point(rng: random.Random, centre: tuple[float, float], spread: float) -> tuple[float, float]:
    return round(centre[0] + rng.uniform(-spread, spread), 6), round(centre[1] + rng.uniform(-spread, spread), 6)


def _place(rng: random.Random) -> str:
    return "".join(rng.sample(PLACE_WORDS, 2))


def _moment(rng: random.Random, start: date, days: int) -> datetime:
    day = start + timedelta(days=rng.randrange(days))
    return datetime(day.year, day.month, day.day, 1 + rng.randrange(10), rng.randrange(60), tzinfo=UTC)


def _copy(conn: Connection, table: Table, rows: Iterable[dict[str, Any]], columns: list[str]) -> None:
    """Bulk insert: ``COPY`` on PostgreSQL, large executemany batches elsewhere."""
    if conn.dialect.name == "postgresql":
        dbapi = conn.connection.driver_connection
        cols = ", ".join(columns)
        with dbapi.cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row([row[c] for c in columns])
        return
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(insert(table), batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)


DEMO_ACTOR = ("system:demo", "示例数据")


def _history(kind: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The history rows the API writes for a record registered (and maybe decommissioned) like this one:
    ``after`` is the record as the API shows it (``services.registry.service._create``)."""
    rows = []
    public = {k: v for k, v in record.items() if k != "id"}
    if public["status"] == "decommissioned":
        active = {**public, "status": "active", "decommissioned_at": None, "version": 1}
        active["updated_at"] = public["created_at"]
        rows.append(_history_row(kind, active, "created", public["created_at"], None))
        rows.append(_history_row(kind, public, "decommissioned", public["decommissioned_at"], active))
    else:
        rows.append(_history_row(kind, public, "created", public["created_at"], None))
    return rows


def _history_row(
    kind: str, after: dict[str, Any], action: str, at: datetime, before: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "kind": kind,
        "code": after["code"],
        "county_code": after["county_code"],
        "action": action,
        "actor_sub": DEMO_ACTOR[0],
        "actor_name": DEMO_ACTOR[1],
        "at": at,
        "before": repository.jsonable(before) if before is not None else None,
        "after_json": orjson.dumps(after).decode(),
    }


def _copy_with_history(
    conn: Connection, table: Table, kind: str, rows: Iterable[dict[str, Any]], columns: list[str]
) -> None:
    """Bulk insert records batch by batch, each batch followed by its history rows (the import's
    ``insert_history``), so memory stays flat at the benchmark sizes."""
    for records in _batched(rows):
        _copy(conn, table, records, columns)
        history = [h for record in records for h in _history(kind, record)]
        plain = [{k: v for k, v in h.items() if k != "before"} for h in history if h["before"] is None]
        changed = [h for h in history if h["before"] is not None]
        for group in (plain, changed):
            if group:
                bulk_repository.insert_history(conn, group)


def _batched(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while batch := list(itertools.islice(it, BATCH)):
        yield batch


def _set_counters(conn: Connection, counters: dict[tuple[str, str], int]) -> None:
    rows = [{"county_code": c, "kind": k, "next_value": n + 1} for (c, k), n in counters.items()]
    if not rows:
        return
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(counter_t).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["county_code", "kind"],
        set_={"next_value": func.max(counter_t.c.next_value, stmt.excluded.next_value)}
        if conn.dialect.name == "sqlite"
        else {"next_value": func.greatest(counter_t.c.next_value, stmt.excluded.next_value)},
    )
    conn.execute(stmt)


def demo_vehicle_count(size: int) -> int:
    """400 vehicles for the demo city (5,000 facilities), more for the benchmark sizes."""
    return 400 if size <= 5000 else size // 12


def seed_demo(engine: Engine, *, size: int = 5000, seed: int = 42, settings: Settings | None = None) -> dict[str, int]:
    """Build the demo city; returns how many rows of each kind were added (zeros the second time)."""
    settings = settings or Settings()
    rng = random.Random(seed)
    counts = {"divisions": 0, "units": 0, "sites": 0, "facilities": 0, "vehicles": 0}
    with engine.begin() as conn:
        if conn.execute(select(division_t.c.code).where(division_t.c.code == CITY[0])).first():
            return counts
        counters: dict[tuple[str, str], int] = {}

        def number(kind: str, county: str, sub_kind: str, category: str | None) -> str:
            seq = counters.get((county, kind), 0) + 1
            counters[(county, kind)] = seq
            return numbering.render(
                settings.code_template(kind), county_code=county, seq=seq, kind=sub_kind, category=category
            )

        # divisions
        divisions = [{"code": CITY[0], "name": CITY[1], "level": "city", "parent_code": None}]
        streets: dict[str, list[tuple[str, str]]] = {}
        communities: dict[str, list[tuple[str, str, str]]] = {}
        for county, county_name, _, _, street_names in COUNTIES:
            divisions.append({"code": county, "name": county_name, "level": "county", "parent_code": CITY[0]})
            for i, (street_name, town) in enumerate(street_names, start=1):
                street = f"{county}{i:03d}"
                divisions.append({"code": street, "name": street_name, "level": "street", "parent_code": county})
                streets.setdefault(county, []).append((street, street_name))
                used: set[str] = set()
                for j in range(1, 11):
                    name = _place(rng)
                    while name in used:
                        name = _place(rng)
                    used.add(name)
                    code = f"{street}{(200 + j) if town else j:03d}"
                    full = f"{name}{'村' if town else '社区'}"
                    divisions.append({"code": code, "name": full, "level": "community", "parent_code": street})
                    communities.setdefault(county, []).append((code, street, full))
        conn.execute(insert(division_t), divisions)
        counts["divisions"] = len(divisions)

        units = [
            {
                "code": f"U{i:02d}",
                "name": name,
                "kind": kind,
                "county_code": county,
                "contact": f"联络员{i:02d}",
                "phone": f"0791-8{i:07d}",
                "duties": duties,
            }
            for i, (name, kind, county, duties) in enumerate(UNITS, start=1)
        ]
        conn.execute(insert(unit_t), units)
        counts["units"] = len(units)

        # sites: about 110 per county, residential ones covered at the county's rate
        sites: list[dict[str, Any]] = []
        residential_by_county: dict[str, list[str]] = {}
        street_label = {code: name for values in streets.values() for code, name in values}
        for county, county_name, centre, spread, _ in COUNTIES:
            for _ in range(111):
                kind = _pick(rng, SITE_MIX)
                community, street, _community_name = rng.choice(communities[county])
                place = _place(rng)
                if kind == "residential":
                    name = place + rng.choice(RESIDENTIAL_SUFFIX)
                else:
                    name = rng.choice(OTHER_SITES[kind]).format(c=county_name, p=place)
                lat, lng = _point(rng, centre, spread)
                created = _moment(rng, date(2018, 1, 1), 365)
                target = COVERAGE[county] if kind == "residential" else 0.97
                covered = rng.random() < target
                since = (created + timedelta(days=rng.randrange(30, 1800))).date() if covered else None
                code = number("site", county, kind, None)
                decommissioned = rng.random() < 0.01
                address = f"{county_name}{street_label[street]}{rng.choice(ROADS)}{rng.randrange(1, 999)}号"
                ended = _moment(rng, date(2025, 1, 1), 300) if decommissioned else None  # after the address
                sites.append(
                    {
                        "code": code,
                        "kind": kind,
                        "name": name,
                        "county_code": county,
                        "street_code": street,
                        "community_code": community,
                        "address": address,
                        "lat": lat,
                        "lng": lng,
                        "covered": covered,
                        "covered_since": since,
                        "sorted_collection": covered,
                        "sorted_transport": covered,
                        "status": "decommissioned" if decommissioned else "active",
                        "external_id": None,
                        "created_at": created,
                        "updated_at": ended or created,
                        "decommissioned_at": ended,
                        "version": 2 if decommissioned else 1,
                    }
                )
                if kind == "residential":
                    residential_by_county.setdefault(county, []).append(code)
        _copy_with_history(conn, site_t, "site", sites, [c.name for c in site_t.c if c.name != "id"])
        counts["sites"] = len(sites)

        # facilities: every county gets a hazardous-waste store first
        county_weights = [0.14, 0.12, 0.1, 0.13, 0.1, 0.1, 0.13, 0.08, 0.1]
        facility_columns = [c.name for c in facility_t.c if c.name != "id"]

        def facilities() -> Iterable[dict[str, Any]]:
            for i in range(size):
                if i < len(COUNTIES):
                    county_row, kind = COUNTIES[i], "hazardous_store"
                else:
                    county_row = rng.choices(COUNTIES, weights=county_weights)[0]
                    kind = _pick(rng, FACILITY_MIX)
                county, county_name, centre, spread, _ = county_row
                community, street, community_name = rng.choice(communities[county])
                category = FACILITY_CATEGORY.get(kind, "mixed")
                site_code = None
                if kind in ("bin_group", "smart_box", "drop_point") and rng.random() < 0.5:
                    site_code = rng.choice(residential_by_county[county])
                place = (
                    community_name
                    if kind in ("bin_group", "smart_box", "drop_point", "recycling_point")
                    else street_label[street]
                )
                lat, lng = _point(rng, centre, spread)
                created = _moment(rng, date(2019, 1, 1), 2000)
                yield {
                    "code": number("facility", county, kind, category),
                    "kind": kind,
                    "category": category,
                    "name": f"{place}{FACILITY_NAME[kind]}{i % 97 + 1}号",
                    "county_code": county,
                    "street_code": street,
                    "community_code": community,
                    "site_code": site_code,
                    "address": f"{county_name}{street_label[street]}{rng.choice(ROADS)}{rng.randrange(1, 999)}号",
                    "lat": lat,
                    "lng": lng,
                    "capacity": FACILITY_CAPACITY[kind],
                    "status": "active",
                    "external_id": None,
                    "created_at": created,
                    "updated_at": created,
                    "decommissioned_at": None,
                    "version": 1,
                }

        _copy_with_history(conn, facility_t, "facility", facilities(), facility_columns)
        counts["facilities"] = size

        # vehicles: 400 for the demo city, one per 12 facilities for benchmark sizes (a province
        # has ~30,000 vehicles for ~1,000,000 facilities); valid, distinct 赣A plates
        assert PROVINCES.index("赣") >= 0
        plates: set[str] = set()
        vehicles = []
        for _ in range(demo_vehicle_count(size)):
            county = rng.choices(COUNTIES, weights=county_weights)[0][0]
            category = _pick(rng, VEHICLE_CATEGORIES)
            energy = _pick(rng, ENERGY)
            while True:
                if energy in ("electric", "hybrid", "hydrogen"):
                    letter = "D" if energy == "electric" else "F"
                    digits = f"{rng.randrange(100000):05d}"
                    plate = f"赣A{letter}{digits}" if rng.random() < 0.6 else f"赣A{digits}{letter}"
                else:
                    plate = "赣A" + "".join(rng.choice(_PLATE_CHARS) for _ in range(5))
                if plate not in plates:
                    plates.add(plate)
                    break
            created = _moment(rng, date(2020, 1, 1), 1500)
            vehicles.append(
                {
                    "code": number("vehicle", county, "vehicle", category),
                    "plate_number": plate,
                    "category": category,
                    "energy_type": energy,
                    "capacity_tonnes": rng.choice([1.5, 2.5, 3.0, 5.0, 8.0, 10.0, 15.0]),
                    "operator_name": rng.choice(OPERATORS),
                    "county_code": county,
                    "road_permit_expires_on": date(2026, 1, 1) + timedelta(days=rng.randrange(900)),
                    "inspection_due_on": date(2026, 1, 1) + timedelta(days=rng.randrange(365)),
                    "gps_device_id": f"GPS{rng.randrange(10**8):08d}",
                    "status": "active",
                    "external_id": None,
                    "created_at": created,
                    "updated_at": created,
                    "decommissioned_at": None,
                    "version": 1,
                }
            )
        _copy_with_history(conn, vehicle_t, "vehicle", vehicles, [c.name for c in vehicle_t.c if c.name != "id"])
        counts["vehicles"] = len(vehicles)
        _set_counters(conn, counters)
        # The dashboard counters, from the tables in one INSERT ... SELECT ... GROUP BY each.
        repository.recompute(conn)
    return counts
