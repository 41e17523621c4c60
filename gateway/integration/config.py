"""Settings of the integration part (env prefix SORTLINE_GATEWAY_INTEGRATION_): the secret-encryption
key, the delivery worker, and single sign-on."""

from __future__ import annotations

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.config import PLACEHOLDER_SECRETS, dev_secret


class IntegrationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SORTLINE_GATEWAY_INTEGRATION_", extra="ignore")

    environment: str = "development"
    # Encrypts subscription secrets at rest (SORTLINE_GATEWAY_INTEGRATION_KEY); a random one kept under
    # the data directory in development.
    key: str = ""

    # The delivery worker: a schedule of the gateway's kernel job runner (any number of replicas).
    worker: bool = True
    poll_seconds: float = 1.0
    batch_size: int = 200
    concurrency: int = 16
    timeout_seconds: float = 15.0
    claim_seconds: int = 60
    feed_page: int = 500
    # Where inbound OA documents are kept (empty: <data dir>/gateway-files; or s3://...).
    storage_url: str = ""
    # Where the links in thin payloads and OA to-dos point (the gateway's public address).
    public_url: str = "http://127.0.0.1:8000"

    # Single sign-on (empty: only local accounts).
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scope: str = "openid profile email"
    oidc_link_claim: str = "preferred_username"  # the claim that names the local user
    oidc_label: str = "统一身份认证登录"
    cas_url: str = ""  # e.g. https://cas.example.gov.cn/cas
    cas_version: int = 3
    cas_link_attribute: str = ""  # empty: the CAS user name
    sso_create_users: bool = True

    @model_validator(mode="after")
    def _fill_key(self) -> IntegrationSettings:
        if self.key in PLACEHOLDER_SECRETS:
            import os

            env = os.environ.get("SORTLINE_ENV", self.environment)
            if env not in {"development", "test"}:
                raise ValueError("SORTLINE_GATEWAY_INTEGRATION_KEY 必须在生产环境中设置为随机值")
            self.key = dev_secret("integration-key")
        return self
