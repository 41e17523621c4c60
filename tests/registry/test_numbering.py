"""Unified numbering: templates, one counter per (county, kind), atomic under concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from services.common.auth import Caller
from services.common.db import session_scope
from services.common.idempotency import IdempotentWrite
from services.registry import numbering, repository, service
from services.registry.config import Settings
from services.registry.models import counter_t, vehicle_t
from services.registry.schemas import VehicleCreate


def test_render_default_templates() -> None:
    t = numbering.DEFAULT_TEMPLATES
    assert numbering.render(t["vehicle"], county_code="360102", seq=7, category="kitchen") == "360102-K00007"
    assert numbering.render(t["vehicle"], county_code="360102", seq=7, category="residual") == "360102-Q00007"
    assert numbering.render(t["vehicle"], county_code="360102", seq=12345, category="bulky") == "360102-B12345"
    assert numbering.render(t["facility"], county_code="360121", seq=42, kind="bin_group") == "360121-F000042"
    assert numbering.render(t["site"], county_code="360121", seq=3, kind="residential") == "360121-S000003"


def test_custom_template_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORTLINE_REGISTRY_VEHICLE_CODE_TEMPLATE", "NC{county_code}{category_letter}{seq:04d}")
    settings = Settings()
    code = numbering.render(settings.code_template("vehicle"), county_code="360102", seq=5, category="hazardous")
    assert code == "NC360102H0005"


@pytest.mark.parametrize(
    ("template", "fragment"),
    [("{county_code}-{nope}", "未知字段"), ("V{seq:05d}", "必须包含"), ("{county_code}-{seq:05q}", "格式不正确")],
)
def test_bad_templates_refused(template: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        numbering.check_template(template)
    with pytest.raises(ValueError):
        Settings(vehicle_code_template=template)


def test_counter_per_county_and_kind(engine: Engine) -> None:
    taken = []
    with session_scope(engine) as session:
        for county, kind in [
            ("360102", "vehicle"),
            ("360102", "vehicle"),
            ("360103", "vehicle"),
            ("360102", "facility"),
            ("360102", "vehicle"),
        ]:
            taken.append(repository.take_number(session, counter_t, county, kind))
    assert taken == [1, 2, 1, 1, 3]
    with engine.connect() as conn:
        rows = set(conn.execute(select(counter_t.c.county_code, counter_t.c.kind, counter_t.c.next_value)).all())
    assert rows == {("360102", "vehicle", 4), ("360103", "vehicle", 2), ("360102", "facility", 2)}


def test_concurrent_counter_takes_are_distinct(engine: Engine) -> None:
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def take() -> None:
        try:
            with session_scope(engine) as session:
                n = repository.take_number(session, counter_t, "360102", "facility")
            with lock:
                results.append(n)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == list(range(1, 51))


def test_50_concurrent_registrations_get_50_codes(engine: Engine, make_db: Callable[[str], Engine]) -> None:
    """Through the service layer, in threads, each its own transaction (PostgreSQL and SQLite)."""
    settings = Settings()
    caller = Caller(sub="key:1", role="county", county_code="360102", permissions=["registry:write"])
    codes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def register(i: int) -> None:
        body = VehicleCreate(
            plate_number=f"赣A{i:05d}", category="kitchen", energy_type="diesel", operator_name="示范环卫有限公司"
        )
        try:
            with session_scope(engine) as session:
                no_key = IdempotentWrite(None, caller.sub, None, "POST", "/vehicles")
                record = service.register(session, settings, caller, service.VEHICLES, body, no_key).body
            with lock:
                codes.append(record["code"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(set(codes)) == 50
    assert sorted(codes) == [f"360102-K{i:05d}" for i in range(1, 51)]


def test_default_templates_use_no_letter_that_reads_as_a_digit() -> None:
    """New installations: no O or I in any default number (they read as 0 and 1)."""
    t = numbering.DEFAULT_TEMPLATES
    codes = [
        numbering.render(t["vehicle"], county_code="360102", seq=1, category=c) for c in numbering.CATEGORY_LETTERS
    ]
    codes += [numbering.render(t["site"], county_code="360102", seq=1, kind=k) for k in numbering.SITE_LETTERS]
    codes += [numbering.render(t["facility"], county_code="360102", seq=1, kind="bin_group", category="mixed")]
    assert not [c for c in codes if "O" in c or "I" in c]


def test_an_installation_with_legacy_residual_numbers_keeps_them(engine: Engine) -> None:
    """Residual vehicles numbered 360102-O… by the earlier default go on with O; a new one starts with Q;
    the other categories read the same either way, and an explicit template is never switched."""
    settings = Settings()
    caller = Caller(sub="key:1", role="county", county_code="360102", permissions=["registry:write"])

    def register(plate: str, category: str = "residual") -> str:
        body = VehicleCreate(plate_number=plate, category=category, energy_type="diesel", operator_name="环卫")
        with session_scope(engine) as session:
            no_key = IdempotentWrite(None, caller.sub, None, "POST", "/vehicles")
            return str(service.register(session, settings, caller, service.VEHICLES, body, no_key).body["code"])

    assert register("赣A10001") == "360102-Q00001"  # a new installation
    assert register("赣A10002", "kitchen") == "360102-K00002"
    with session_scope(engine) as session:  # as if issued by the earlier version
        session.execute(vehicle_t.update().where(vehicle_t.c.code == "360102-Q00001").values(code="360102-O00001"))
    assert register("赣A10003") == "360102-O00003"
    custom = Settings(vehicle_code_template="NC{county_code}{category_mark}{seq:04d}")
    assert custom.code_template("vehicle", legacy_residual=True) == "NC{county_code}{category_mark}{seq:04d}"
