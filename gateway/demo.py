"""Demo users of a fresh platform (``sortline seed-demo``), one per role."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.admin import NewUser


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    display_name: str
    description: str
    unit_code: str | None = None
    county_code: str | None = None
    team_code: str | None = None
    unit_leader: bool = False

    @property
    def account(self) -> NewUser:
        return NewUser(
            self.username,
            self.role,
            self.display_name,
            self.unit_code,
            self.county_code,
            self.team_code,
            unit_leader=self.unit_leader,
        )


DEMO_UNIT_CODE = "U05"
DEMO_UNIT_NAME = "市市场监管局"  # the registry demo's U05 (services/registry/demo.py UNITS)
DEMO_COUNTY_CODE = "360102"
DEMO_COUNTY_NAME = "东湖区"
DEMO_TEAM_CODE = "T01"

DEMO_USERS: tuple[DemoUser, ...] = (
    # People's names where the role says the rest: the header shows the name beside the role label
    # (分类办, 领导, 督导员…), which read twice when the name was the role.
    DemoUser("admin", "admin", "陈立", "系统管理员：用户、API 密钥"),
    DemoUser("office", "office", "张敏", "分类办工作人员（全市）"),
    DemoUser("leader", "leader", "刘建国", "领导（全市只读）"),
    DemoUser(
        "unit",
        "unit",
        f"{DEMO_UNIT_NAME}联络员",
        f"成员单位 {DEMO_UNIT_CODE} {DEMO_UNIT_NAME}",
        unit_code=DEMO_UNIT_CODE,
    ),
    DemoUser(
        "unitlead",
        "unit",
        "孙卫东",
        f"{DEMO_UNIT_NAME}分管领导：只收本单位的督办和通报",
        unit_code=DEMO_UNIT_CODE,
        unit_leader=True,
    ),
    DemoUser(
        "county",
        "county",
        f"{DEMO_COUNTY_NAME}管理员",
        f"县区 {DEMO_COUNTY_CODE} {DEMO_COUNTY_NAME}",
        county_code=DEMO_COUNTY_CODE,
    ),
    DemoUser("inspector", "inspector", "周涛", f"督导组 {DEMO_TEAM_CODE}", team_code=DEMO_TEAM_CODE),
)
