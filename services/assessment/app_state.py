"""The peers and the file storage a running service uses, made on first use (tests hand in fakes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from services.assessment.config import Settings
from services.assessment.ports import CalendarPort, HttpRegistry, HttpSupervision, RegistryPort, SupervisionPort
from services.common.storage import make_storage


class Ports:
    """``registry``, ``supervision``, ``calendar()`` and ``storage``; each overridable by tests."""

    def __init__(
        self,
        settings: Settings,
        *,
        registry: RegistryPort | None = None,
        supervision: SupervisionPort | None = None,
        calendar: Callable[[], CalendarPort] | None = None,
        storage: Any = None,
    ) -> None:
        self.settings = settings
        self._registry = registry
        self._supervision = supervision
        self._calendar = calendar
        self._storage = storage

    @property
    def registry(self) -> RegistryPort:
        if self._registry is None:
            self._registry = HttpRegistry(self.settings)
        return self._registry

    @property
    def supervision(self) -> SupervisionPort:
        if self._supervision is None:
            self._supervision = HttpSupervision(self.settings)
        return self._supervision

    def calendar(self) -> CalendarPort:
        if self._calendar is not None:
            return self._calendar()
        registry = self.registry
        if isinstance(registry, HttpRegistry):
            return registry.calendar()  # office overrides from the registry, cached by the kernel
        from services.assessment.ports import default_calendar

        return default_calendar()

    @property
    def storage(self) -> Any:
        if self._storage is None:
            self._storage = make_storage(self.settings.file_storage_url(), max_size=self.settings.max_file_size)
        return self._storage


def get_ports(request: Request) -> Ports:
    ports: Ports = request.app.state.ports
    return ports
