"""What the three photo uploads share (``PUT .../photos/{photo_id}`` on inspections, rectification
orders and enforcement records): the route's documentation, the position query parameters and the
upload itself. Each route keeps only its own check of the owner, made before any bytes are read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from services.common.auth import Caller
from services.common.responses import JSONBody
from services.supervision import photos as photo_store
from services.supervision.deps import WRITE_ERRORS
from services.supervision.inspections.schemas import PhotoPublic
from services.supervision.jobs import enqueue_thumbnail

PhotoIdPath = Annotated[str, Path(pattern=photo_store.PHOTO_ID_PATTERN)]
_IMAGE_BODY = {"type": "string", "format": "binary"}


def put_photo_route(router: APIRouter, path: str, summary: str) -> Callable[[Any], Any]:
    """``router.put(path, ...)`` with the documentation every photo upload has (201 first, 200 resend)."""
    return router.put(
        path,
        response_model=PhotoPublic,
        summary=summary,
        responses={201: {"model": PhotoPublic, "description": "首次收到"}, **WRITE_ERRORS},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"image/jpeg": {"schema": _IMAGE_BODY}},
                "description": "JPEG/PNG/HEIC 图片（按内容识别类型；HEIC 转为 JPEG）",
            }
        },
    )


@dataclass(frozen=True)
class Place:
    """Where and when the photo was taken, as the query sent it (checked by ``position_of`` once the
    owner is known, so a missing owner answers 404 before a half-given position answers 422)."""

    latitude: float | None
    longitude: float | None
    accuracy_m: float | None
    taken_at: datetime | None


async def _place(
    latitude: Annotated[float | None, Query(ge=-90, le=90, description="拍摄位置纬度（WGS-84）")] = None,
    longitude: Annotated[float | None, Query(ge=-180, le=180, description="拍摄位置经度（WGS-84）")] = None,
    accuracy_m: Annotated[float | None, Query(ge=0, description="定位精度（米）")] = None,
    taken_at: Annotated[datetime | None, Query(description="拍摄时间（ISO 8601）")] = None,
) -> Place:
    return Place(latitude, longitude, accuracy_m, taken_at)


PhotoPlace = Annotated[Place, Depends(_place)]


async def store_photo(
    request: Request,
    caller: Caller,
    owner_kind: str,
    owner_id: int,
    photo_id: str,
    place: Place,
    *,
    sync: bool = True,
) -> Response:
    """Receive the body and keep the photo: 201 the first time, 200 for a resend, 409 for other bytes
    (``sync=False``: durable at the owner's barrier, see ``photos.NewPhoto``)."""
    position = photo_store.position_of(place.latitude, place.longitude, place.accuracy_m, place.taken_at)
    state = request.app.state
    new = photo_store.NewPhoto(
        owner_kind,
        owner_id,
        photo_id,
        caller,
        position,
        lambda session, row_id: enqueue_thumbnail(session, state, row_id),
        sync,
    )
    status, row = await photo_store.store_photo(request, state.settings.max_photo_size, new)
    return JSONBody(photo_store.photo_public(row), status_code=status)
