"""Login, lockout, sessions and logout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from gateway.models import LoginEvent, User, UserSession
from services.common import clock


def events(gw) -> list[str]:
    with Session(gw.engine) as db:
        return [e.outcome for e in db.exec(select(LoginEvent).order_by(col(LoginEvent.id))).all()]


def test_login_page_is_chinese_and_public(gw) -> None:
    resp = gw.client.get("/login")
    assert resp.status_code == 200
    for text in ("用户名", "密码", "登录", 'name="username"', 'name="password"'):
        assert text in resp.text
    assert resp.headers["vary"] == "HX-Request"


def test_pages_redirect_to_login_with_next(gw) -> None:
    resp = gw.client.get("/admin/users?x=1", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=%2Fadmin%2Fusers%3Fx%3D1"
    htmx = gw.client.get("/admin/users", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["hx-redirect"].startswith("/login?next=")


def test_login_success_sets_session_and_redirects_to_next(gw) -> None:
    gw.user("alice", "office", display_name="王丽")
    resp = gw.client.post(
        "/login", data={"username": "alice", "password": gw.password, "next": "/admin/users"}, follow_redirects=False
    )
    assert resp.status_code == 303
    assert resp.headers["location"] == "/admin/users"
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith("sortline_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # development / test: plain http is allowed
    home = gw.client.get("/")
    assert "欢迎，王丽" in home.text
    assert "退出登录" in home.text
    assert events(gw) == ["success"]
    with Session(gw.engine) as db:
        row = db.exec(select(UserSession)).one()
        assert row.token_hash != cookie.split("=", 1)[1].split(";")[0]  # only the hash is stored


def test_next_never_leaves_the_site(gw) -> None:
    gw.user("alice", "office")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        resp = gw.client.post(
            "/login", data={"username": "alice", "password": gw.password, "next": target}, follow_redirects=False
        )
        assert resp.headers["location"] == "/"


def test_session_cookie_is_secure_outside_development(make_gateway) -> None:
    gw = make_gateway(base_url="https://testserver", environment="production", service_token_secret="s" * 40)
    gw.user("alice", "office")
    resp = gw.login("alice")
    assert resp.status_code == 303
    assert "Secure" in resp.headers["set-cookie"]


def test_wrong_password_shows_error_and_keeps_username(gw) -> None:
    gw.user("alice", "office")
    resp = gw.client.post("/login", data={"username": "alice", "password": "nope-nope"})
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.text
    assert 'value="alice"' in resp.text
    assert "sortline_session" not in resp.headers.get("set-cookie", "")
    unknown = gw.client.post("/login", data={"username": "nobody", "password": "nope-nope"})
    assert "用户名或密码错误" in unknown.text  # same answer: no account enumeration
    assert events(gw) == ["failure", "unknown_user"]
    with Session(gw.engine) as db:
        ev = db.exec(select(LoginEvent).order_by(col(LoginEvent.id))).first()
        assert ev is not None and ev.username == "alice" and ev.ip and ev.user_id is not None


def test_throttle_then_lockout_then_unlock(gw) -> None:
    gw.user("alice", "office")
    t0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    clock.set_now(t0)
    for _ in range(3):
        assert gw.login("alice", "wrong-pass").status_code == 401
    # The fourth attempt right away is refused without checking the password, even if right.
    resp = gw.login("alice", gw.password)
    assert resp.status_code == 429
    assert "秒后再试" in resp.text
    # Waiting the (increasing) delay each time, failures go on counting up to the lock.
    delay = 2
    for n in range(4, 11):
        clock.advance(timedelta(seconds=delay))
        resp = gw.login("alice", "wrong-pass")
        delay = min(delay * 2, 60)
        if n < 10:
            assert resp.status_code == 401, (n, resp.text)
    assert resp.status_code == 429
    assert "账户已锁定 15 分钟" in resp.text
    clock.advance(timedelta(minutes=14))
    resp = gw.login("alice", gw.password)
    assert resp.status_code == 429
    assert "临时锁定" in resp.text
    clock.advance(timedelta(minutes=2))
    assert gw.login("alice", gw.password).status_code == 303
    outcomes = events(gw)
    assert outcomes.count("failure") == 9
    assert outcomes.count("lockout") == 1
    assert "throttled" in outcomes and "locked" in outcomes
    assert outcomes[-1] == "success"
    with Session(gw.engine) as db:
        user = db.exec(select(User).where(User.username == "alice")).one()
        assert user.failed_count == 0 and user.locked_until is None


def test_disabled_user_cannot_log_in(gw) -> None:
    uid = gw.user("alice", "office")
    with Session(gw.engine) as db:
        user = db.get(User, uid)
        assert user is not None
        user.is_active = False
        db.add(user)
        db.commit()
    resp = gw.login("alice")
    assert resp.status_code == 401
    assert "账户已停用" in resp.text


def test_idle_session_expires(gw) -> None:
    gw.user("alice", "office")
    gw.login("alice")
    assert gw.client.get("/", follow_redirects=False).status_code == 200
    clock.advance(timedelta(minutes=gw.settings.session_idle_minutes + 1))
    assert gw.client.get("/", follow_redirects=False).status_code == 303


def test_logout_ends_the_session(gw) -> None:
    csrf = gw.login_as("office")
    cookie = gw.client.cookies.get("sortline_session")
    resp = gw.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login"
    assert gw.client.get("/", follow_redirects=False).status_code == 303
    # The old cookie is worthless now, even if replayed.
    gw.client.cookies.set("sortline_session", cookie or "")
    assert gw.client.get("/", follow_redirects=False).status_code == 303
    with Session(gw.engine) as db:
        assert db.exec(select(UserSession)).all() == []


def test_health_needs_no_login(gw) -> None:
    assert gw.client.get("/health").json() == {"status": "ok", "service": "gateway"}
