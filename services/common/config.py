"""Settings shared by every process: data directory, environment, the service-token secret."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev"}


def data_dir() -> Path:
    """Where all local state lives: ``SORTLINE_DATA_DIR`` or ``./var``."""
    return Path(os.environ.get("SORTLINE_DATA_DIR") or "var").resolve()


def dev_secret(name: str) -> str:
    """A random secret kept under the data directory, shared by the processes of one machine.

    Only for development: production must set the secret in the environment.
    """
    path = data_dir() / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(value)
    try:
        os.link(tmp, path)  # first writer wins; concurrent starters read the same value
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


class CommonSettings(BaseSettings):
    """Base of every service's settings. Subclasses set their own ``env_prefix``."""

    model_config = SettingsConfigDict(extra="ignore")

    environment: str = Field(default="development", validation_alias=AliasChoices("SORTLINE_ENV", "environment"))
    service_token_secret: str = Field(
        default="",
        validation_alias=AliasChoices("SORTLINE_SERVICE_TOKEN_SECRET", "service_token_secret"),
    )
    service_token_ttl_seconds: int = Field(
        default=120,
        validation_alias=AliasChoices("SORTLINE_SERVICE_TOKEN_TTL", "service_token_ttl_seconds"),
    )
    database_url: str = ""

    @property
    def is_development(self) -> bool:
        return self.environment in {"development", "test"}

    def default_database_url(self) -> str:
        """SQLite file under the data directory, named after the service."""
        return f"sqlite:///{data_dir() / (self.service_name() + '.db')}"

    def service_name(self) -> str:
        return "service"

    @model_validator(mode="after")
    def _fill_defaults(self) -> CommonSettings:
        if not self.database_url:
            self.database_url = self.default_database_url()
        if self.service_token_secret in PLACEHOLDER_SECRETS:
            if not self.is_development:
                raise ValueError("SORTLINE_SERVICE_TOKEN_SECRET 必须在生产环境中设置为随机值（不能为空或占位符）")
            self.service_token_secret = dev_secret("service-token")
        return self


DEFAULT_PORTS = {"gateway": 8000, "registry": 8001, "assessment": 8002, "supervision": 8003}


def service_port(name: str) -> int:
    """Port of a process: ``SORTLINE_<NAME>_PORT`` or its default (gateway 8000, registry 8001, ...)."""
    return int(os.environ.get(f"SORTLINE_{name.upper()}_PORT") or DEFAULT_PORTS[name])


def service_url(name: str) -> str:
    """Where the gateway reaches a service: ``SORTLINE_<NAME>_URL`` or 127.0.0.1 on its port."""
    return os.environ.get(f"SORTLINE_{name.upper()}_URL") or f"http://127.0.0.1:{service_port(name)}"
