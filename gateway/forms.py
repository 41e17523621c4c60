"""What the gateway's own forms share. A page's form is a pydantic model the route takes whole
(``Annotated[Model, Form()]``: the fields it posts and their limits in one place, ``model_dump()``
to show them again beside the errors); errors come back as ``{field: sentence}``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.common.errors import AppError


class ScopeFields(BaseModel):
    """A role and the scope it needs (a unit, county or team), as a user and an SSO role mapping
    hold them; the limits are their columns'."""

    role: str = Field(default="", max_length=16)
    unit_code: str | None = Field(default=None, max_length=32)
    county_code: str | None = Field(default=None, max_length=6)
    team_code: str | None = Field(default=None, max_length=32)


def field_errors(exc: AppError) -> dict[str, str]:
    """An error as ``{field: sentence}``; a message that names no field under ``form``."""
    return {d.field or "form": d.message for d in exc.details} or {"form": exc.message}
