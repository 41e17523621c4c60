"""Checks the supervision schemas share, as pydantic ``AfterValidator``s that raise the Chinese
sentence (``ValueError``) the kernel passes on, with the field named."""

from __future__ import annotations

from collections.abc import Callable, Container, Hashable
from typing import Any

from pydantic import AfterValidator


def distinct(message: str, key: Callable[[Any], Hashable] | None = None) -> AfterValidator:
    """A list whose items (or the items' ``key``) do not repeat."""

    def check(values: list[Any]) -> list[Any]:
        keys = [key(v) for v in values] if key else values
        if len(set(keys)) != len(keys):
            raise ValueError(message)
        return values

    return AfterValidator(check)


def each(ok: Callable[[str], bool], message: str) -> AfterValidator:
    """A list of texts each of which is ``ok``; ``message`` names the first that is not (``{}``)."""

    def check(values: list[str]) -> list[str]:
        for value in values:
            if not ok(value):
                raise ValueError(message.format(value))
        return values

    return AfterValidator(check)


def one_of(allowed: Container[str], message: str) -> AfterValidator:
    """A text among ``allowed``."""

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(message)
        return value

    return AfterValidator(check)
