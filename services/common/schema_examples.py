"""Examples of a schema for the OpenAPI document: ``model_config = examples({...}, {...})``."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict


def examples(*values: dict[str, Any]) -> ConfigDict:
    """A model's ``model_config`` holding these examples (``json_schema_extra`` ``examples``)."""
    return ConfigDict(json_schema_extra={"examples": list(values)})
