"""Settings of the gateway (env prefix SORTLINE_GATEWAY_): sessions, login throttling, API keys,
and where the services are."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.common.config import CommonSettings, service_url

SERVICES = ("registry", "assessment", "supervision")


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="SORTLINE_GATEWAY_", extra="ignore")

    # Where the services listen (``SORTLINE_<SERVICE>_URL`` or 127.0.0.1 on their port).
    registry_url: str = Field(default_factory=lambda: service_url("registry"))
    assessment_url: str = Field(default_factory=lambda: service_url("assessment"))
    supervision_url: str = Field(default_factory=lambda: service_url("supervision"))

    # Outgoing HTTP to the services: one pool for all of them.
    upstream_pool_size: int = 128
    upstream_connect_timeout: float = 3.0
    upstream_read_timeout: float = 30.0
    upstream_pool_timeout: float = 5.0

    # Browser sessions.
    session_cookie: str = "sortline_session"
    session_idle_minutes: int = 120
    session_max_hours: int = 12
    # The session row's last_seen_at is written at most this often (not on every request).
    session_touch_seconds: int = 60

    # Login throttling, per username (a made-up name is counted exactly like a real one, so the
    # answers do not tell which accounts exist): after ``throttle_after`` failures each attempt waits
    # an increasing delay (base * 2^(n - throttle_after) seconds, capped); ``lock_after`` failures
    # lock that name (only that name) for ``lock_minutes``.
    login_throttle_after: int = 3
    login_throttle_base_seconds: int = 2
    login_throttle_max_seconds: int = 60
    login_lock_after: int = 10
    login_lock_minutes: int = 15
    # Per address: once an address has had ``ip_max_failures`` failed logins (any usernames) within
    # ``ip_window_minutes``, each login attempt from it is slowed by ``ip_delay_seconds`` before it
    # is checked. Slowed, never refused: behind a shared address (NAT, a proxy) another account's
    # correct login still gets in, a few seconds later at most.
    login_ip_max_failures: int = 20
    login_ip_window_minutes: int = 15
    login_ip_delay_seconds: float = 2.0
    # The addresses (or networks, ``10.0.0.0/8``) of the reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; comma-separated. A peer outside the list is the client itself.
    trusted_proxies: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices(
            "SORTLINE_TRUSTED_PROXIES", "SORTLINE_GATEWAY_TRUSTED_PROXIES", "trusted_proxies"
        ),
    )

    # API keys: verified keys are cached this long (a revocation in another process takes effect
    # within it); last_used_at is written at most once per ``apikey_touch_seconds`` per key.
    apikey_cache_seconds: float = 5.0
    apikey_touch_seconds: int = 60

    # The registry's OpenAPI document is fetched once and kept this long.
    openapi_cache_seconds: int = 300

    # The facility map's tile layer (e.g. the city's 天地图 service, ``{z}/{x}/{y}`` template).
    # Empty: no tiles, the points on a plain background, no request to any tile server.
    map_tile_url: str = ""
    map_tile_attribution: str = ""

    def service_name(self) -> str:
        return "gateway"

    @property
    def secure_cookies(self) -> bool:
        return not self.is_development

    def url_of(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")
