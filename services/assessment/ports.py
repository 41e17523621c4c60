"""What this service reads from its peers over HTTP (the kernel's ``PeerClient``), behind two small
interfaces so the rules can be tested with in-memory fakes:

- the registry: ``GET /units`` (member units), ``GET /coverage?as_of=`` (coverage figures), and
  ``GET /calendar`` through the kernel's ``load_calendar`` (working days);
- supervision: ``GET /enforcement/summary?quarter=`` (rectification on-time rate, enforcement
  counts), optional: when it does not answer, the ranking leaves those columns out.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from typing import Any, Protocol

from services.assessment.config import Settings

log = logging.getLogger(__name__)


class RegistryPort(Protocol):
    def units(self) -> list[dict[str, Any]]: ...

    def coverage(self, as_of: date) -> dict[str, Any]: ...


class SupervisionPort(Protocol):
    def enforcement_summary(self, period: str) -> dict[str, Any] | None: ...


class CalendarPort(Protocol):
    def is_workday(self, d: date) -> bool: ...

    def add_workdays(self, d: date, n: int) -> date: ...

    def workdays_between(self, a: date, b: date) -> int: ...


class HttpRegistry:
    """The registry over HTTP (signed as the system, role office); the unit list cached 60 s."""

    def __init__(self, settings: Settings, transport: Any = None) -> None:
        from services.common.peers import PeerClient  # kernel-jobs

        self._peer = (
            PeerClient(settings, "registry", transport=transport) if transport else PeerClient(settings, "registry")
        )
        self._units: tuple[float, list[dict[str, Any]]] | None = None

    def units(self) -> list[dict[str, Any]]:
        if self._units and time.monotonic() - self._units[0] < 60:
            return self._units[1]
        items = list(self._peer.get_json("/units")["items"])
        self._units = (time.monotonic(), items)
        return items

    def coverage(self, as_of: date) -> dict[str, Any]:
        result: dict[str, Any] = self._peer.get_json("/coverage", params={"as_of": as_of.isoformat()})
        return result

    def calendar(self) -> CalendarPort:
        from services.common.workdays import load_calendar  # kernel-jobs

        calendar: CalendarPort = load_calendar(self._peer)
        return calendar


class HttpSupervision:
    def __init__(self, settings: Settings, transport: Any = None) -> None:
        from services.common.peers import PeerClient  # kernel-jobs

        self._peer = (
            PeerClient(settings, "supervision", transport=transport)
            if transport
            else PeerClient(settings, "supervision")
        )

    def enforcement_summary(self, period: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = self._peer.get_json("/enforcement/summary", params={"quarter": period})
            return result
        except Exception:  # absent, down or older: the ranking goes on without it
            log.info("supervision summary unavailable for %s", period, exc_info=True)
            return None


def default_calendar() -> CalendarPort:
    """The kernel's working-day calendar without office overrides (the package's holidays)."""
    from services.common.workdays import WorkCalendar  # kernel-jobs

    calendar: CalendarPort = WorkCalendar({})
    return calendar


def metric_value(metric: str, coverage: dict[str, Any]) -> float | None:
    """A catalogue metric read from the registry's coverage report (city level)."""
    city = coverage.get("city") or {}
    if metric == "residential_coverage":
        rate = (city.get("residential") or {}).get("rate")
        return None if rate is None else float(rate)
    kind = {
        "public_institution_coverage": "public_institution",
        "school_coverage": "education",
        "hospital_coverage": "medical",
        "market_coverage": "farmers_market",
    }.get(metric)
    block = (city.get("by_kind") or {}).get(kind or "", {})
    rate = block.get("rate")
    return None if rate is None else float(rate)
