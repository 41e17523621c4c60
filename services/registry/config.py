"""Settings of the registry service (env prefix SORTLINE_REGISTRY_).

The numbering templates are ``str.format`` templates; see ``services.registry.numbering`` for
the fields each one may use. Every template must contain ``{county_code}`` and ``{seq...}`` so
that codes stay unique (one counter per county and record kind).
"""

from typing import Annotated

from fastapi import Depends
from pydantic import field_validator
from pydantic_settings import SettingsConfigDict

from services.common.config import CommonSettings, data_dir
from services.common.service_app import get_settings
from services.registry.numbering import DEFAULT_TEMPLATES, LEGACY_VEHICLE_TEMPLATE, check_template


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="SORTLINE_REGISTRY_", extra="ignore")

    vehicle_code_template: str = DEFAULT_TEMPLATES["vehicle"]
    facility_code_template: str = DEFAULT_TEMPLATES["facility"]
    site_code_template: str = DEFAULT_TEMPLATES["site"]
    # Where uploaded import files wait between upload, validation and confirm (``make_storage`` URL).
    # Every replica must reach the same storage: ``s3://bucket?endpoint=…`` in production.
    storage_url: str = ""

    def service_name(self) -> str:
        return "registry"

    @field_validator("vehicle_code_template", "facility_code_template", "site_code_template")
    @classmethod
    def _valid_template(cls, value: str) -> str:
        check_template(value)
        return value

    def file_storage_url(self) -> str:
        """``storage_url``, or local storage under ``<data dir>/files`` when it is not set."""
        return self.storage_url or str(data_dir() / "files")

    def code_template(self, kind: str, *, legacy_residual: bool = False) -> str:
        """The numbering template of a record kind ('vehicle', 'facility', 'site'). ``legacy_residual``:
        the installation has issued residual-waste vehicle numbers with the earlier default (letter O,
        ``repository.legacy_residual_numbers``); on the default template it keeps that one."""
        if kind == "vehicle" and legacy_residual and self.vehicle_code_template == DEFAULT_TEMPLATES["vehicle"]:
            return LEGACY_VEHICLE_TEMPLATE
        return {
            "vehicle": self.vehicle_code_template,
            "facility": self.facility_code_template,
            "site": self.site_code_template,
        }[kind]


SettingsDep = Annotated[Settings, Depends(get_settings)]
