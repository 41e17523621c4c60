"""OA login ids of the local users (泛微 统一待办 needs the OA's own login id as ``receiver``): an
admin page listing every user with the id the OA knows them by."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlmodel import Session
from starlette.responses import Response

from gateway import repository
from gateway.deps import Admin, AdminViewer
from gateway.integration import identity_repository
from gateway.integration.models import ExternalIdentity
from gateway.render import render
from services.common.db import ReadSessionDep, SessionDep
from services.common.errors import InvalidInput, NotFound

router = APIRouter(prefix="/integration", include_in_schema=False)


def set_identity(db: Session, user_id: int, provider: str, external_id: str) -> None:
    """Link (or, with an empty id, unlink) a user to its name in ``provider``."""
    external_id = external_id.strip()
    if len(external_id) > 128:
        raise InvalidInput.field("external_id", "最多 128 个字符")
    identity_repository.delete_identity(db, user_id, provider)
    if not external_id:
        return
    if identity_repository.identity_of(db, provider, external_id) is not None:
        raise InvalidInput.field("external_id", f"“{external_id}”已对应另一个用户")
    db.add(ExternalIdentity(user_id=user_id, provider=provider, external_id=external_id))
    db.flush()


def _page(
    request: Request, db: Session, *, errors: dict[str, str] | None = None, toast: tuple[str, str] | None = None
) -> Response:
    users = repository.users_by_username(db)
    links = identity_repository.identity_links(db)
    return render(
        request,
        "integration/identities.html",
        {"users": users, "links": links, "errors": errors or {}, "toast": toast},
        block="panel",
    )


@router.get("/accounts")
def accounts_page(request: Request, _viewer: AdminViewer, db: ReadSessionDep) -> Response:
    return _page(request, db)


@router.post("/accounts/{user_id}")
def set_account(
    request: Request,
    user_id: int,
    _admin: Admin,
    db: SessionDep,
    oa_login: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    user = repository.user_by_id(db, user_id)
    if user is None:
        raise NotFound("用户不存在")
    try:
        set_identity(db, user_id, "oa", oa_login)
    except InvalidInput as exc:
        return _page(request, db, errors={str(user_id): exc.details[0].message if exc.details else exc.message})
    return _page(request, db, toast=(f"已保存 {user.username} 的 OA 账号", "success"))
