"""Settings of the assessment service (env prefix SORTLINE_ASSESSMENT_)."""

from pydantic_settings import SettingsConfigDict

from services.common.config import CommonSettings


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="SORTLINE_ASSESSMENT_", extra="ignore")

    def service_name(self) -> str:
        return "assessment"
