"""``/sites``: the county-facing registry of sites under management (分类管理对象)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.registry import service
from services.registry.routes.params import StreetQuery
from services.registry.routes.records import add_list_route, add_record_routes
from services.registry.schemas import (
    SITE_EXAMPLE,
    SiteCreate,
    SitePage,
    SitePublic,
    SiteUpdate,
)
from services.registry.validation import SiteKind

router = APIRouter(prefix="/sites", tags=["sites"])
KIND = service.SITES

CREATE_EXAMPLES = {
    "residential": {"summary": "已覆盖的居民小区（县区密钥）", "value": SITE_EXAMPLE},
    "school": {
        "summary": "市级账号登记学校（须指明 county_code）",
        "value": {"kind": "education", "name": "示例小学", "county_code": "360102", "street_code": "360102001"},
    },
}


add_list_route(
    router,
    kind=KIND,
    plural="sites",
    page=SitePage,
    summary="管理对象列表（游标分页）",
    filters=[
        ("street", StreetQuery, "street_code"),
        ("kind", Annotated[SiteKind | None, Query(description="管理对象类型")], "kind"),
    ],
)

UPDATE_EXAMPLES = {
    "covered": {
        "summary": "开始分类",
        "value": {
            "covered": True,
            "covered_since": "2024-01-01",
            "sorted_collection": True,
            "sorted_transport": True,
        },
    }
}

add_record_routes(
    router,
    kind=KIND,
    name="site",
    create=SiteCreate,
    update=SiteUpdate,
    public=SitePublic,
    create_examples=CREATE_EXAMPLES,
    update_examples=UPDATE_EXAMPLES,
    decommission_reason="管理对象报废",
)
