"""Identity mechanics: password hashing (Argon2), server-side sessions, CSRF, login throttling,
and API keys (hashed at rest, verified keys cached in memory)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import Request

from gateway import repository
from gateway.config import Settings
from gateway.models import ApiKey, LoginEvent, LoginUnknownName, User, UserSession
from services.common import clock
from services.common.auth import ROLES, Caller
from services.common.db import session_scope
from services.common.errors import Forbidden, InvalidInput

log = logging.getLogger("sortline.gateway.security")

# ---------------------------------------------------------------------------------------------
# Passwords

_hasher = PasswordHasher()
# Verified against when the username does not exist, so that a wrong username costs as much time
# as a wrong password and does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput.field("password", f"密码至少 {MIN_PASSWORD_LENGTH} 位")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Who is asking


@dataclass(frozen=True)
class Principal:
    """The authenticated caller at the gateway: a signed-in user or an API key."""

    kind: Literal["user", "key"]
    id: int
    name: str
    role: str
    unit_code: str | None = None
    county_code: str | None = None
    team_code: str | None = None
    permissions: tuple[str, ...] = ()
    username: str = ""
    csrf_token: str | None = None  # set for session users only

    @property
    def sub(self) -> str:
        return f"{self.kind}:{self.id}"

    def caller(self, rid: str) -> Caller:
        """What the services are told (browser users carry no permissions: their role decides)."""
        return Caller(
            sub=self.sub,
            name=self.name,
            role=self.role,
            unit_code=self.unit_code,
            county_code=self.county_code,
            team_code=self.team_code,
            permissions=list(self.permissions),
            rid=rid,
        )

    @property
    def scope_label(self) -> str:
        return scope_label(self.role, self.unit_code, self.county_code, self.team_code)


ROLE_LABELS = {
    "admin": "系统管理员",
    "office": "分类办",
    "leader": "领导",
    "unit": "成员单位",
    "county": "县区",
    "inspector": "督导员",
}


def scope_label(role: str, unit_code: str | None, county_code: str | None, team_code: str | None) -> str:
    if role == "unit":
        return f"单位 {unit_code or '-'}"
    if role == "county":
        return f"县区 {county_code or '-'}"
    if role == "inspector":
        return f"督导组 {team_code or '-'}"
    return "全市"


def validate_scope(
    role: str, unit_code: str | None, county_code: str | None, team_code: str | None
) -> tuple[str | None, str | None, str | None]:
    """The scope fields a role needs (and only those); ``InvalidInput`` naming the field."""
    if role not in ROLES:
        raise InvalidInput.field("role", "角色无效")
    unit_code = (unit_code or "").strip() or None
    county_code = (county_code or "").strip() or None
    team_code = (team_code or "").strip() or None
    if role == "unit":
        if not unit_code:
            raise InvalidInput.field("unit_code", "成员单位账号必须填写单位编码")
        return unit_code, None, None
    if role == "county":
        if not county_code or not (len(county_code) == 6 and county_code.isdigit()):
            raise InvalidInput.field("county_code", "县区编码应为 6 位数字")
        return None, county_code, None
    if role == "inspector":
        if not team_code:
            raise InvalidInput.field("team_code", "督导员账号必须填写督导组编码")
        return None, None, team_code
    return None, None, None


# ---------------------------------------------------------------------------------------------
# Sessions


def new_session(db: Session, user: User, *, ip: str, user_agent: str) -> str:
    """Start a session for ``user``; returns the cookie value (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    db.add(
        UserSession(
            token_hash=sha256_hex(token),
            user_id=user.id or 0,
            csrf_token=secrets.token_urlsafe(24),
            ip=ip[:64],
            user_agent=user_agent[:255],
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


# Signed-in users seen in the last few seconds, by session-token hash: a page does not pay a
# database look-up every time. Logging out, disabling a user or resetting a password drops the
# entries at once in this process; other processes follow within SESSION_CACHE_SECONDS.
SESSION_CACHE_SECONDS = 5
_session_cache: dict[str, tuple[datetime, Principal]] = {}


def cached_session(token: str) -> Principal | None:
    """The principal of a session checked in the last few seconds, without the database."""
    hit = _session_cache.get(sha256_hex(token)) if token and len(token) <= 128 else None
    if hit is None:
        return None
    seen, principal = hit
    if not timedelta(0) <= clock.now() - seen < timedelta(seconds=SESSION_CACHE_SECONDS):
        return None
    return principal


def load_session(engine: Engine, settings: Settings, token: str) -> Principal | None:
    """The user behind a session cookie, or ``None`` when unknown, expired, or the user is disabled.

    Expired sessions are deleted; last_seen_at is written at most once per ``session_touch_seconds``.
    """
    if not token or len(token) > 128:
        return None
    token_hash = sha256_hex(token)
    now = clock.now()
    with Session(engine.execution_options(sqlite_deferred=True), expire_on_commit=False) as db:
        row = repository.session_and_user(db, token_hash)
    if row is None:
        return None
    sess, user = row
    idle = now - clock.as_utc(sess.last_seen_at)
    age = now - clock.as_utc(sess.created_at)
    if (
        not user.is_active
        or idle > timedelta(minutes=settings.session_idle_minutes)
        or age > timedelta(hours=settings.session_max_hours)
    ):
        end_session(engine, token)
        return None
    if idle > timedelta(seconds=settings.session_touch_seconds):
        with session_scope(engine) as db:
            repository.touch_session(db, sess.id, now)
    principal = user_principal(user, csrf_token=sess.csrf_token)
    if len(_session_cache) > 10_000:
        _session_cache.clear()
    _session_cache[token_hash] = (now, principal)
    return principal


def user_principal(user: User, csrf_token: str | None = None) -> Principal:
    return Principal(
        kind="user",
        id=user.id or 0,
        name=user.display_name or user.username,
        role=user.role,
        unit_code=user.unit_code,
        county_code=user.county_code,
        team_code=user.team_code,
        username=user.username,
        csrf_token=csrf_token,
    )


def end_session(engine: Engine, token: str) -> None:
    with session_scope(engine) as db:
        drop_session(db, token)


def drop_session(db: Session, token: str) -> None:
    _session_cache.pop(sha256_hex(token), None)
    repository.delete_session(db, sha256_hex(token))


def end_user_sessions(db: Session, user_id: int) -> None:
    for key, (_, principal) in list(_session_cache.items()):
        if principal.kind == "user" and principal.id == user_id:
            _session_cache.pop(key, None)
    repository.delete_user_sessions(db, user_id)


def end_other_sessions(db: Session, user_id: int, keep_token: str) -> None:
    """End every session of the user but the one whose cookie is ``keep_token``."""
    keep = sha256_hex(keep_token)
    for key, (_, principal) in list(_session_cache.items()):
        if principal.kind == "user" and principal.id == user_id and key != keep:
            _session_cache.pop(key, None)
    repository.delete_user_sessions(db, user_id, except_token_hash=keep)


# ---------------------------------------------------------------------------------------------
# CSRF

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def check_same_origin(request: Request) -> None:
    """Refuse a request a browser says came from another site (Sec-Fetch-Site, then Origin)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in {"same-origin", "none"}:
        raise Forbidden("跨站请求被拒绝，请从本平台页面提交")
    origin = request.headers.get("origin")
    if origin is not None:
        host = request.headers.get("host", "")
        parts = urlsplit(origin)
        if origin == "null" or parts.netloc != host:
            raise Forbidden("跨站请求被拒绝，请从本平台页面提交")


def check_csrf_token(principal: Principal, given: str | None) -> None:
    expected = principal.csrf_token or ""
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise Forbidden("页面已过期或请求来源无法验证（CSRF 校验失败），请刷新页面后重试")


# ---------------------------------------------------------------------------------------------
# Login and throttling

LoginOutcome = Literal["success", "failure", "lockout", "locked", "throttled", "disabled", "unknown_user"]


@dataclass
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "success"


WRONG_CREDENTIALS = "用户名或密码错误"


def throttle_delay(settings: Settings, failures: int) -> int:
    """Seconds an account must wait after ``failures`` consecutive failures (0 = none)."""
    if failures < settings.login_throttle_after:
        return 0
    exp = failures - settings.login_throttle_after
    return min(settings.login_throttle_base_seconds * 2**exp, settings.login_throttle_max_seconds)


def address_delay(db: Session, settings: Settings, ip: str) -> float:
    """Seconds a login attempt from ``ip`` is held back before it is checked (0 = none).

    Only a slow-down, never a refusal: many failures from one address (a guesser, or just a busy
    NAT or proxy every user shares) must not keep another account's correct login out."""
    if not ip or settings.login_ip_delay_seconds <= 0:
        return 0.0
    window = clock.now() - timedelta(minutes=settings.login_ip_window_minutes)
    failures = repository.count_login_events(db, ip[:64], window, _FAILED_OUTCOMES)
    return settings.login_ip_delay_seconds if failures >= settings.login_ip_max_failures else 0.0


_FAILED_OUTCOMES = ("failure", "lockout", "unknown_user")
# Failure bookkeeping: a User row, or the LoginUnknownName row of a name without an account.
_Counted = User | LoginUnknownName
_pruned_at = 0.0


def attempt_login(db: Session, settings: Settings, username: str, password: str, ip: str) -> LoginResult:
    """Check a username and password, applying throttling and lockout, and record a login_event."""
    username = username.strip()[:64]
    now = clock.now()
    result = _attempt(db, settings, username, password, ip, now)
    db.add(
        LoginEvent(
            user_id=result.user.id if result.user else None,
            username=username,
            ip=ip[:64],
            at=now,
            outcome=result.outcome,
        )
    )
    return result


def _forget_before(settings: Settings, now: datetime) -> datetime:
    """Failures older than this are forgotten (for real and made-up names alike): by then any lock
    and any back-off they caused has run out."""
    return now - timedelta(minutes=settings.login_lock_minutes, seconds=settings.login_throttle_max_seconds)


def _unknown_name(db: Session, settings: Settings, username: str, now: datetime) -> LoginUnknownName:
    """The bookkeeping row of a name without an account, created on first use and locked like
    the user row is (so concurrent guesses are counted one after the other)."""
    global _pruned_at
    if time.monotonic() - _pruned_at > 60:  # at most once a minute per process
        _pruned_at = time.monotonic()
        repository.delete_unknown_names_failed_before(db, _forget_before(settings, now))
    return repository.locked_unknown_name(db, username)


def _attempt(db: Session, settings: Settings, username: str, password: str, ip: str, now: datetime) -> LoginResult:
    # A real account and a made-up name take the same steps: the same bookkeeping (a row locked
    # for the attempt), the same throttle and lock, an Argon2 check of the same cost, the same
    # answers. Only a correct password (which a made-up name never has) tells them apart.
    user = repository.user_by_username(db, username, for_update=True)
    counted: _Counted = user if user is not None else _unknown_name(db, settings, username, now)

    if counted.locked_until is not None:
        locked_until = clock.as_utc(counted.locked_until)
        if locked_until > now:
            minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
            return LoginResult("locked", user, f"账户已被临时锁定，请 {minutes} 分钟后再试")
        counted.locked_until = None  # the lock has run out: start counting afresh
        counted.failed_count = 0
    if counted.last_failed_at is not None and clock.as_utc(counted.last_failed_at) < _forget_before(settings, now):
        counted.failed_count = 0  # as a made-up name's pruned row would be

    delay = throttle_delay(settings, counted.failed_count)
    if delay and counted.last_failed_at is not None:
        wait_until = clock.as_utc(counted.last_failed_at) + timedelta(seconds=delay)
        if wait_until > now:
            seconds = max(1, int((wait_until - now).total_seconds() + 0.999))
            return LoginResult("throttled", user, f"登录失败次数过多，请 {seconds} 秒后再试")

    verified = verify_password(user.password_hash if user is not None else _DUMMY_HASH, password)
    if user is None or not verified:
        counted.failed_count += 1
        counted.last_failed_at = now
        db.add(counted)
        if counted.failed_count >= settings.login_lock_after:
            counted.locked_until = now + timedelta(minutes=settings.login_lock_minutes)
            log.warning("login name %s locked after %d failed logins (ip %s)", username, counted.failed_count, ip)
            return LoginResult("lockout", user, f"密码错误次数过多，账户已锁定 {settings.login_lock_minutes} 分钟")
        return LoginResult("failure" if user is not None else "unknown_user", user, WRONG_CREDENTIALS)

    if not user.is_active:
        return LoginResult("disabled", user, "账户已停用，请联系管理员")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_count = 0
    user.last_failed_at = None
    user.last_login_at = now
    db.add(user)
    return LoginResult("success", user)


# ---------------------------------------------------------------------------------------------
# API keys

KEY_PREFIX = "sk_"
API_KEY_ROLES = ("county", "office")
DEFAULT_PERMISSIONS = ["registry:read", "registry:write"]
KNOWN_PERMISSIONS = {
    "registry:read": "读取登记数据（设施、车辆、区划）",
    "registry:write": "登记和更新设施、车辆",
    "assessment:read": "读取考核数据",
    "supervision:read": "读取督导数据",
}


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    # SHA-256, not Argon2: the key is 32 random bytes, so it cannot be guessed or brute-forced from
    # its hash, and a fast hash lets us look a key up by its hash on the hot path of the proxy.
    return sha256_hex(key)


def validate_api_key_fields(
    name: str, role: str, county_code: str | None, permissions: list[str] | None
) -> tuple[str, str | None, list[str]]:
    name = name.strip()
    if not name:
        raise InvalidInput.field("name", "请填写密钥名称")
    if len(name) > 100:
        raise InvalidInput.field("name", "最多 100 个字符")
    if role not in API_KEY_ROLES:
        raise InvalidInput.field("role", "API 密钥的角色应为 county（县区）或 office（分类办，全市）")
    county_code = (county_code or "").strip() or None
    if role == "county":
        if not county_code or not (len(county_code) == 6 and county_code.isdigit()):
            raise InvalidInput.field("county_code", "县区密钥必须填写 6 位县区编码")
    else:
        county_code = None
    perms = list(DEFAULT_PERMISSIONS) if permissions is None else list(dict.fromkeys(permissions))
    unknown = [p for p in perms if p not in KNOWN_PERMISSIONS]
    if unknown:
        raise InvalidInput.field("permissions", f"未知的权限：{'、'.join(unknown)}")
    if not perms:
        raise InvalidInput.field("permissions", "至少选择一项权限")
    return name, county_code, perms


def create_api_key(
    db: Session,
    *,
    name: str,
    role: str,
    county_code: str | None,
    permissions: list[str] | None,
    created_by: str,
) -> tuple[ApiKey, str]:
    """A new key; returns the row and the plaintext key (shown once, never stored)."""
    name, county_code, perms = validate_api_key_fields(name, role, county_code, permissions)
    key = new_api_key()
    row = ApiKey(
        name=name,
        key_hash=hash_api_key(key),
        prefix=key[:10],
        role=role,
        county_code=county_code,
        permissions=perms,
        created_by=created_by[:64],
        created_at=clock.now(),
    )
    db.add(row)
    db.flush()
    return row, key


def key_principal(row: ApiKey) -> Principal:
    return Principal(
        kind="key",
        id=row.id or 0,
        name=row.name,
        role=row.role,
        county_code=row.county_code,
        permissions=tuple(row.permissions or ()),
    )


@dataclass
class _CachedKey:
    principal: Principal
    expires: float  # time.monotonic()
    last_used_written: float  # time.monotonic() of our last write of last_used_at


@dataclass
class ApiKeyVerifier:
    """Verifies bearer keys with a short in-memory cache, so the proxy does not hit the database on
    every request. A revocation takes effect at once in this process (``forget``) and within
    ``ttl`` seconds in the others. last_used_at is written at most once per ``touch_seconds``."""

    engine: Engine
    ttl: float = 5.0
    touch_seconds: float = 60.0
    _cache: dict[str, _CachedKey] = field(default_factory=dict)
    _touched: dict[int, float] = field(default_factory=dict)
    _revoked: set[int] = field(default_factory=set)  # revoked here: refused at once
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cached(self, key: str) -> Principal | None:
        """The principal of a key verified less than ``ttl`` seconds ago (no I/O), else ``None``."""
        entry = self._cache.get(hash_api_key(key))
        if entry is not None and entry.expires > time.monotonic() and entry.principal.id not in self._revoked:
            return entry.principal
        return None

    def verify(self, key: str) -> Principal | None:
        """Look the key up in the database (blocking: call from a worker thread)."""
        if not key.startswith(KEY_PREFIX) or len(key) > 100:
            return None
        key_hash = hash_api_key(key)
        with Session(self.engine.execution_options(sqlite_deferred=True)) as db:
            row = repository.api_key_by_hash(db, key_hash)
        if row is None or row.revoked_at is not None or row.id in self._revoked:
            self._cache.pop(key_hash, None)
            return None
        principal = key_principal(row)
        with self._lock:
            self._cache[key_hash] = _CachedKey(principal, time.monotonic() + self.ttl, 0.0)
            if len(self._cache) > 10_000:  # a bound against unbounded growth; keys are few
                now = time.monotonic()
                for h in [h for h, e in self._cache.items() if e.expires <= now]:
                    self._cache.pop(h, None)
        return principal

    def needs_touch(self, key_id: int) -> bool:
        """True at most once per ``touch_seconds`` per key (and marks it as touched)."""
        now = time.monotonic()
        with self._lock:
            last = self._touched.get(key_id)
            if last is not None and now - last < self.touch_seconds:
                return False
            self._touched[key_id] = now
            return True

    def touch(self, key_id: int) -> None:
        """Record the key's last use (blocking: call from a worker thread)."""
        with session_scope(self.engine) as db:
            repository.touch_api_key(db, key_id, clock.now())

    def forget(self, key_id: int) -> None:
        """Refuse a key from now on in this process (called when it is revoked here)."""
        with self._lock:
            self._revoked.add(key_id)
            for h in [h for h, e in self._cache.items() if e.principal.id == key_id]:
                self._cache.pop(h, None)


def revoke_api_key(db: Session, key_id: int) -> bool:
    row = repository.api_key_by_id(db, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = clock.now()
    db.add(row)
    return True
