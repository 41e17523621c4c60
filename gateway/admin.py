"""Admin pages: users (list, create with role and scope, disable, reset password) and API keys
(list, create — the key is shown once — and revoke). Admins change; the office may look."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.responses import Response

from gateway import repository
from gateway.deps import Admin, AdminViewer
from gateway.forms import ScopeFields, field_errors
from gateway.models import ApiKey, User
from gateway.render import NavItem, register_nav, render
from gateway.scopes import ScopeCatalog, ScopesDep
from gateway.security import (
    API_KEY_ROLES,
    DEFAULT_PERMISSIONS,
    KNOWN_PERMISSIONS,
    ApiKeyVerifier,
    check_password_rules,
    create_api_key,
    end_user_sessions,
    hash_password,
    revoke_api_key,
    validate_api_key_fields,
    validate_scope,
)
from services.common.auth import ROLES
from services.common.db import ReadSessionDep, SessionDep
from services.common.errors import InvalidInput, NotFound

router = APIRouter(prefix="/admin", include_in_schema=False)
register_nav(NavItem("/admin/users", "用户管理", frozenset({"admin", "office"}), order=10), group="系统管理")
register_nav(NavItem("/admin/apikeys", "API 密钥", frozenset({"admin", "office"}), order=11), group="系统管理")


# What the forms post (``form: ...Posted``: the fields, their limits and defaults).
class UserForm(ScopeFields):
    username: str = Field(default="", max_length=200)
    display_name: str = Field(default="", max_length=200)
    password: str = Field(default="", max_length=1024)
    unit_leader: bool = False


class LeaderForm(BaseModel):
    unit_leader: bool = False


UserPosted = Annotated[UserForm, Form()]


# ---------------------------------------------------------------------------------------------
# Users


def _users(db: Session, scopes: ScopeCatalog) -> list[dict[str, Any]]:
    rows = repository.users_by_username(db)
    return [
        {
            "user": u,
            "scope": scopes.label(u.role, u.unit_code, u.county_code, u.team_code),
        }
        for u in rows
    ]


def _scope_choices(scopes: ScopeCatalog) -> dict[str, list[tuple[str, str]]]:
    return {kind: scopes.options(kind) for kind in ("counties", "units", "teams")}


def _users_page(
    request: Request,
    db: Session,
    scopes: ScopeCatalog,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: dict[str, str] | None = None,
    message: tuple[str, str] | None = None,
) -> Response:
    return render(
        request,
        "admin/users.html",
        {
            "users": _users(db, scopes),
            "roles": ROLES,
            "choices": _scope_choices(scopes),
            "form": form or {"role": "office"},
            "errors": errors or {},
            "notice": notice,
            "toast": message,
        },
        block="panel",
    )


@router.get("/users")
def users_page(request: Request, _viewer: AdminViewer, db: ReadSessionDep, scopes: ScopesDep) -> Response:
    return _users_page(request, db, scopes)


@router.post("/users")
def create_user_page(request: Request, admin: Admin, db: SessionDep, scopes: ScopesDep, form: UserPosted) -> Response:
    new = NewUser(
        form.username,
        form.role,
        form.display_name,
        form.unit_code,
        form.county_code,
        form.team_code,
        unit_leader=form.unit_leader,
    )
    try:
        user = add_user(db, new, form.password, scopes=scopes)
    except InvalidInput as exc:
        return _users_page(request, db, scopes, form=form.model_dump(exclude={"password"}), errors=field_errors(exc))
    return _users_page(request, db, scopes, message=(f"已创建用户 {user.username}", "success"))


@dataclass(frozen=True)
class NewUser:
    """Who a new account is: the admin's form, the ``sortline`` command, a demo user."""

    username: str
    role: str
    display_name: str = ""
    unit_code: str | None = None
    county_code: str | None = None
    team_code: str | None = None
    unit_leader: bool = False


LEADER_NEEDS_UNIT = "只有成员单位账号可以设为单位领导"


def add_user(db: Session, new: NewUser, password: str, *, scopes: ScopeCatalog | None = None) -> User:
    """Create a user (validating name, password and the scope the role needs; with ``scopes``, the
    scope must also be a known county, unit or team)."""
    role = new.role
    username = new.username.strip()
    if not username:
        raise InvalidInput.field("username", "请填写用户名")
    if len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        raise InvalidInput.field("username", "用户名只能包含字母、数字和 . _ -，最多 64 个字符")
    check_password_rules(password)
    unit, county, team = validate_scope(role, new.unit_code, new.county_code, new.team_code)
    if new.unit_leader and role != "unit":
        raise InvalidInput.field("unit_leader", LEADER_NEEDS_UNIT)
    if scopes is not None:
        scopes.check_known(role, unit, county, team)
    if repository.user_by_username(db, username) is not None:
        raise InvalidInput.field("username", "用户名已存在")
    user = User(
        username=username,
        display_name=new.display_name.strip()[:64],
        password_hash=hash_password(password),
        role=role,
        unit_code=unit,
        county_code=county,
        team_code=team,
        unit_leader=new.unit_leader,
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError as exc:  # a concurrent creation of the same name
        raise InvalidInput.field("username", "用户名已存在") from exc
    return user


def _user_or_404(db: Session, user_id: int) -> User:
    user = repository.user_by_id(db, user_id)
    if user is None:
        raise NotFound("用户不存在")
    return user


@router.post("/users/{user_id}/disable")
def disable_user(request: Request, user_id: int, admin: Admin, db: SessionDep, scopes: ScopesDep) -> Response:
    user = _user_or_404(db, user_id)
    if user.id == admin.id:
        return _users_page(request, db, scopes, message=("不能停用自己的账户", "error"))
    user.is_active = False
    db.add(user)
    end_user_sessions(db, user_id)
    db.flush()
    return _users_page(request, db, scopes, message=(f"已停用用户 {user.username}", "success"))


@router.post("/users/{user_id}/unit-leader")
def set_unit_leader(
    request: Request,
    user_id: int,
    _admin: Admin,
    db: SessionDep,
    scopes: ScopesDep,
    form: Annotated[LeaderForm, Form()],
) -> Response:
    """Mark a member unit's account as the unit's leader (told of its 督办 and circulars only), or not."""
    user = _user_or_404(db, user_id)
    if form.unit_leader and user.role != "unit":
        return _users_page(request, db, scopes, message=(LEADER_NEEDS_UNIT, "error"))
    user.unit_leader = form.unit_leader
    db.add(user)
    db.flush()
    done = "设为单位领导" if form.unit_leader else "改为单位联络人"
    return _users_page(request, db, scopes, message=(f"已将用户 {user.username} {done}", "success"))


@router.post("/users/{user_id}/enable")
def enable_user(request: Request, user_id: int, _admin: Admin, db: SessionDep, scopes: ScopesDep) -> Response:
    user = _user_or_404(db, user_id)
    user.is_active = True
    user.failed_count = 0
    user.locked_until = None
    db.add(user)
    db.flush()
    return _users_page(request, db, scopes, message=(f"已启用用户 {user.username}", "success"))


@router.post("/users/{user_id}/reset-password")
def reset_password(request: Request, user_id: int, _admin: Admin, db: SessionDep, scopes: ScopesDep) -> Response:
    """A new random password, shown once; the user's sessions end and any lock is lifted."""
    user = _user_or_404(db, user_id)
    password = secrets.token_urlsafe(9)
    user.password_hash = hash_password(password)
    user.failed_count = 0
    user.locked_until = None
    db.add(user)
    end_user_sessions(db, user_id)
    db.flush()
    notice = {
        "title": f"用户 {user.username} 的新密码",
        "secret": password,
        "hint": "请复制并告知用户，此密码只显示这一次。",
    }
    return _users_page(request, db, scopes, notice=notice)


# ---------------------------------------------------------------------------------------------
# API keys


class KeyForm(BaseModel):
    name: str = Field(default="", max_length=200)
    role: str = Field(default="county", max_length=32)
    county_code: str = Field(default="", max_length=64)
    permissions: list[str] = []


KeyPosted = Annotated[KeyForm, Form()]


def _keys(db: Session) -> list[ApiKey]:
    return repository.api_keys_by_id(db, newest_first=True)


def _keys_page(
    request: Request,
    db: Session,
    scopes: ScopeCatalog,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    new_key: dict[str, str] | None = None,
    message: tuple[str, str] | None = None,
) -> Response:
    return render(
        request,
        "admin/apikeys.html",
        {
            "keys": _keys(db),
            "county_names": scopes.counties or {},
            "choices": _scope_choices(scopes),
            "key_roles": API_KEY_ROLES,
            "permissions": KNOWN_PERMISSIONS,
            "form": form or {"role": "county", "permissions": DEFAULT_PERMISSIONS},
            "errors": errors or {},
            "new_key": new_key,
            "toast": message,
        },
        block="panel",
    )


@router.get("/apikeys")
def apikeys_page(request: Request, _viewer: AdminViewer, db: ReadSessionDep, scopes: ScopesDep) -> Response:
    return _keys_page(request, db, scopes)


@router.post("/apikeys")
def create_apikey_page(request: Request, admin: Admin, db: SessionDep, scopes: ScopesDep, form: KeyPosted) -> Response:
    try:
        if form.role == "county":  # the format first, then whether the registry knows the county
            _name, county, _perms = validate_api_key_fields(form.name, form.role, form.county_code, form.permissions)
            scopes.check_known(form.role, None, county, None)
        row, key = create_api_key(db, **form.model_dump(), created_by=admin.username or admin.sub)
    except InvalidInput as exc:
        return _keys_page(request, db, scopes, form=form.model_dump(), errors=field_errors(exc))
    return _keys_page(request, db, scopes, new_key={"name": row.name, "key": key})


@router.post("/apikeys/{key_id}/revoke")
def revoke_apikey_page(request: Request, key_id: int, _admin: Admin, db: SessionDep, scopes: ScopesDep) -> Response:
    row = repository.api_key_by_id(db, key_id)
    if row is None:
        raise NotFound("API 密钥不存在")
    revoked = revoke_api_key(db, key_id)
    verifier: ApiKeyVerifier = request.app.state.key_verifier
    verifier.forget(key_id)
    db.flush()
    message = f"已吊销密钥“{row.name}”" if revoked else f"密钥“{row.name}”已经吊销过"
    return _keys_page(request, db, scopes, message=(message, "success"))
