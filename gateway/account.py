"""The signed-in user's own account: 修改密码 (every role). The current password is asked again;
the user's other sessions end, this one stays."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from gateway import repository
from gateway.deps import PageUser, settings_of
from gateway.render import render
from gateway.security import (
    Principal,
    check_password_rules,
    end_other_sessions,
    hash_password,
    verify_password,
)
from services.common.db import SessionDep
from services.common.errors import Forbidden, InvalidInput

router = APIRouter(prefix="/account", include_in_schema=False)


# What the form posts (``form: ...Posted``: the fields, their limits and defaults).
class PasswordForm(BaseModel):
    current_password: str = Field(default="", max_length=1024)
    new_password: str = Field(default="", max_length=1024)
    confirm_password: str = Field(default="", max_length=1024)


PasswordPosted = Annotated[PasswordForm, Form()]


def _page(
    request: Request, *, errors: dict[str, str] | None = None, done: bool = False, status_code: int = 200
) -> Response:
    return render(
        request, "auth/password.html", {"errors": errors or {}, "done": done}, block="panel", status_code=status_code
    )


def _own_user(principal: Principal) -> None:
    if principal.kind != "user":
        raise Forbidden("只有登录用户可以修改自己的密码")


@router.get("/password")
async def password_page(request: Request, user: PageUser) -> Response:
    _own_user(user)
    return _page(request)


@router.post("/password")
def change_password(request: Request, user: PageUser, db: SessionDep, form: PasswordPosted) -> Response:
    _own_user(user)
    current_password, new_password = form.current_password, form.new_password
    row = repository.user_by_id(db, user.id)
    if row is None or not row.is_active:
        raise Forbidden("账户不可用")
    errors: dict[str, str] = {}
    if not current_password:
        errors["current_password"] = "请输入当前密码"
    elif not verify_password(row.password_hash, current_password):
        errors["current_password"] = "当前密码不正确"
    try:
        check_password_rules(new_password)
    except InvalidInput as exc:
        errors["new_password"] = exc.details[0].message if exc.details else exc.message
    if "new_password" not in errors and new_password == current_password:
        errors["new_password"] = "新密码不能与当前密码相同"
    if not errors and form.confirm_password != new_password:
        errors["confirm_password"] = "两次输入的新密码不一致"
    if errors:
        # htmx 2 swaps only 2xx answers: an htmx submit gets its form back with 200.
        failed = 200 if request.headers.get("hx-request") == "true" else 422
        return _page(request, errors=errors, status_code=failed)
    row.password_hash = hash_password(new_password)
    row.failed_count = 0
    row.locked_until = None
    db.add(row)
    end_other_sessions(db, row.id or 0, request.cookies.get(settings_of(request).session_cookie, ""))
    db.flush()
    return _page(request, done=True)
