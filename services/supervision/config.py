"""Settings of the supervision service (env prefix SORTLINE_SUPERVISION_)."""

from pydantic_settings import SettingsConfigDict

from services.common.config import CommonSettings


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="SORTLINE_SUPERVISION_", extra="ignore")

    def service_name(self) -> str:
        return "supervision"
