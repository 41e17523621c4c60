"""What needs the kernel (working days, uploads, jobs, documents): the schedule over the 2026
National Day week, photos validated by content and made idempotent by SHA-256, thumbnails by a
job (EXIF orientation respected), the daily pass once with two runners and a settable clock."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

pytest.importorskip("services.common.jobs", reason="kernel jobs not merged yet")
pytest.importorskip("services.common.uploads", reason="kernel uploads not merged yet")

from PIL import Image

from services.common import clock
from services.common.workdays import WorkCalendar
from services.supervision.jobs import make_runner, runner_of
from services.supervision.models import escalation_t, outbox, photo_t
from tests.supervision.conftest import make_plan, make_team

HOLIDAYS = [date(2026, 10, d) for d in range(1, 8)]


def jpeg(width: int = 40, height: int = 20, orientation: int | None = None, colour: str = "red") -> bytes:
    img = Image.new("RGB", (width, height), colour)
    out = io.BytesIO()
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        img.save(out, "JPEG", exif=exif.tobytes())
    else:
        img.save(out, "JPEG")
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, "PNG")
    return out.getvalue()


def heic() -> bytes:
    import pillow_heif

    out = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (32, 16), "green")).save(out, quality=60)
    return out.getvalue()


def test_schedule_over_national_day_week(client, as_, app):
    app.state.calendar = WorkCalendar()
    make_team(client, as_)
    plan = make_plan(client, as_, starts_on="2026-09-28", ends_on="2026-10-11", sample=3, per_day=1)
    targets = client.get(f"/plans/{plan['id']}/targets", headers=as_("office")).json()["items"]
    days = sorted(date.fromisoformat(t["scheduled_on"]) for t in targets)
    assert len(days) == 6
    assert not set(days) & set(HOLIDAYS)  # nothing in the Golden Week
    assert date(2026, 10, 11) not in days  # an ordinary Sunday
    assert days.count(date(2026, 10, 10)) == 1  # the Saturday make-up working day is used
    assert days == [
        date(2026, 9, 28),
        date(2026, 9, 29),
        date(2026, 9, 30),
        date(2026, 10, 8),
        date(2026, 10, 9),
        date(2026, 10, 10),
    ]


@pytest.fixture
def draft(client, as_):
    make_team(client, as_)
    plan = make_plan(client, as_)
    target = client.get(f"/plans/{plan['id']}/targets", headers=as_("office")).json()["items"][0]
    body = {
        "plan_id": plan["id"],
        "target_code": target["target_code"],
        "answers": [
            {"item_id": "bins", "value": True},
            {"item_id": "quality", "value": 4, "photo_ids": ["q1"]},
            {"item_id": "overflow", "value": 0},
            {"item_id": "photo", "photo_ids": ["p1"]},
        ],
    }
    assert client.put("/inspections/c1", json=body, headers=as_("inspector")).status_code == 201
    return body


def _put(client, as_, photo_id, data, **params):
    headers = as_("inspector", **{"Content-Type": "image/jpeg"})
    return client.put(f"/inspections/c1/photos/{photo_id}", content=data, params=params, headers=headers)


def test_photo_put_idempotent_and_submit(client, as_, draft, app, engine):
    r = _put(
        client, as_, "p1", jpeg(), latitude=28.68, longitude=115.9, accuracy_m=6, taken_at="2026-11-03T09:30:00+08:00"
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["content_type"] == "image/jpeg" and len(first["sha256"]) == 64 and first["accuracy_m"] == 6
    assert first["taken_at"].startswith("2026-11-03T01:30") and first["received_at"]
    again = _put(client, as_, "p1", jpeg())
    assert again.status_code == 200 and again.json()["sha256"] == first["sha256"]
    other = _put(client, as_, "p1", jpeg(colour="blue"))
    assert other.status_code == 409 and other.json()["error"] == "photo_conflict"
    assert client.post("/inspections/c1/submit", headers=as_("inspector")).status_code == 409  # q1 missing
    assert _put(client, as_, "q1", jpeg(colour="yellow")).status_code == 201
    r = client.post("/inspections/c1/submit", headers=as_("inspector"))
    assert r.status_code == 200 and r.json()["state"] == "submitted"
    # the failed quality item raised a finding with its photo; a county sees that before-photo
    finding = client.get(f"/findings/{r.json()['findings'][0]}", headers=as_("office")).json()
    assert [p["photo_id"] for p in finding["photos"]] == ["q1"]
    photo_url = finding["photos"][0]["url"]
    assert client.get(photo_url, headers=as_("county")).status_code == 200
    assert client.get(photo_url, headers=as_("county_other")).status_code == 404
    assert client.get(photo_url, headers=as_("inspector2")).status_code == 404
    # resending after submit is still fine; a new photo is refused
    assert _put(client, as_, "p1", jpeg()).status_code == 200
    assert _put(client, as_, "p9", jpeg()).status_code == 409
    with engine.connect() as conn:
        assert len(conn.execute(select(photo_t)).all()) == 2


def test_submit_is_the_barrier_of_the_photos_and_asks_again_for_those_a_crash_lost(client, as_, draft, app, engine):
    """A photo's 201 does not wait for the disk (the tablet keeps every photo until the submit answers);
    the submit makes them durable, and one a crash lost since (gone, or shorter than received) is
    forgotten and named in the 409, so the tablet's resend is a first upload again."""
    from services.common.storage import LocalStorage
    from services.supervision.deps import storage_of

    assert _put(client, as_, "p1", jpeg()).status_code == 201
    q1 = _put(client, as_, "q1", jpeg(colour="yellow")).json()
    storage = storage_of(app.state)
    assert isinstance(storage, LocalStorage)
    with engine.connect() as conn:
        keys = {r.photo_id: r.key for r in conn.execute(select(photo_t))}
    lost = storage.root / keys["q1"]  # as a crash before the sync leaves it: cut short
    lost.write_bytes(lost.read_bytes()[:100])
    r = client.post("/inspections/c1/submit", headers=as_("inspector"))
    assert r.status_code == 409 and r.json()["error"] == "photos_missing" and "q1" in r.json()["message"]
    assert client.get("/inspections/c1", headers=as_("inspector")).json()["missing_photos"] == ["q1"]
    assert not lost.exists()
    again = _put(client, as_, "q1", jpeg(colour="yellow"))
    assert again.status_code == 201 and again.json()["sha256"] == q1["sha256"]
    (storage.root / keys["p1"]).unlink()  # and one gone altogether
    assert client.post("/inspections/c1/submit", headers=as_("inspector")).status_code == 409
    assert _put(client, as_, "p1", jpeg()).status_code == 201
    r = client.post("/inspections/c1/submit", headers=as_("inspector"))
    assert r.status_code == 200 and r.json()["state"] == "submitted"
    with engine.connect() as conn:
        assert {r.photo_id for r in conn.execute(select(photo_t))} == {"p1", "q1"}


def test_photo_type_by_content(client, as_, draft):
    r = _put(client, as_, "p1", png())  # a PNG sent as image/jpeg (named .jpg)
    assert r.status_code == 201 and r.json()["content_type"] == "image/png"
    r = _put(client, as_, "q1", "这不是图片，只是一个名为 .jpg 的文本文件".encode())
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "photo"
    r = _put(client, as_, "q1", heic())
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "image/jpeg"  # converted
    got = client.get(r.json()["url"], headers=as_("office"))
    assert got.status_code == 200 and got.content[:3] == b"\xff\xd8\xff"
    assert Image.open(io.BytesIO(got.content)).size == (32, 16)


def test_thumbnail_job_respects_exif_orientation(client, as_, draft, app):
    r = _put(client, as_, "p1", jpeg(width=400, height=200, orientation=6))
    assert r.status_code == 201 and r.json()["thumbnail_url"] is None
    assert runner_of(app.state).run_pending() >= 1
    got = client.get("/inspections/c1", headers=as_("inspector")).json()["photos"][0]
    thumb = client.get(got["thumbnail_url"], headers=as_("inspector"))
    assert thumb.status_code == 200
    assert Image.open(io.BytesIO(thumb.content)).size == (160, 320)  # rotated to portrait, 320 px long side


def _finding(client, as_, **extra):
    body = {
        "target_code": "360102-S000001",
        "county_code": "360102",
        "category": "overflow",
        "severity": "severe",
        "description": "满溢",
    }
    r = client.post("/findings", json=body | extra, headers=as_("inspector"))
    assert r.status_code == 201, r.text
    return r.json()["rectification_id"]


def _shanghai(d: date, hh: int, mm: int) -> datetime:
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=clock.SHANGHAI).astimezone(UTC)


def test_escalation_once_a_day_with_two_runners(client, as_, app, engine):
    app.state.calendar = WorkCalendar()
    make_team(client, as_)
    clock.set_now(_shanghai(date(2026, 9, 28), 10, 0))  # Monday before the National Day week
    oid = _finding(client, as_)
    order = client.get(f"/rectifications/{oid}", headers=as_("office")).json()
    assert order["deadline"] == "2026-10-08"  # 3 working days: 29th, 30th, then 8 October
    one, two = make_runner(app.state, "replica-a"), make_runner(app.state, "replica-b")
    one.tick()  # registers the daily schedule (first slot: the next 08:30)
    days = [date(2026, 10, 8) + timedelta(days=i) for i in range(8)]
    escalated_on: list[Any] = []
    for d in days:
        clock.set_now(_shanghai(d, 8, 31))
        ran = one.tick() + two.tick() + one.tick()
        assert ran.count("rectification-daily") == 1, (d, ran)
        with engine.connect() as conn:
            rows = conn.execute(select(escalation_t)).all()
        if rows and not escalated_on:
            escalated_on.append(d)
    # overdue from the 9th; on the 12th it has been overdue 3 working days (9th, the make-up
    # Saturday 10th, 12th): escalated then, not on the Sunday 11th
    assert escalated_on == [date(2026, 10, 12)]
    with engine.connect() as conn:
        types = [r.type for r in conn.execute(select(outbox.table).order_by(outbox.table.c.seq))]
    assert types.count("sortline.supervision.rectification.escalated") == 1
    assert types.count("sortline.supervision.rectification.overdue") == 1
    order = client.get(f"/rectifications/{oid}", headers=as_("office")).json()
    assert order["escalation_level"] == 1 and order["deadline"] == "2026-10-15"  # 3 working days after the 12th


def test_photo_put_is_one_thread_hop(client, as_, draft, monkeypatch, engine):
    """A photo's PUT hands work to one worker thread (the upload's writer, which then stores the file,
    fsyncs it and keeps its row), not once for the settings dependency, once for the file and once more
    for the row: each hop costs a wake-up of both threads, which on a busy machine outweighs the work."""
    import anyio.to_thread

    from services.common import sinks

    hops: list[str] = []
    real = anyio.to_thread.run_sync
    real_submit = sinks._WRITERS.submit

    async def run_sync(func, *args, **kwargs):
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *args, **kwargs)

    def submit(func, *args, **kwargs):
        hops.append(getattr(func, "__qualname__", repr(func)))
        return real_submit(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", run_sync)
    monkeypatch.setattr(sinks._WRITERS, "submit", submit)
    r = _put(client, as_, "p1", jpeg())
    assert r.status_code == 201, r.text
    # on PostgreSQL the look-up before the body (run_read) goes to the thread pool too, by design
    assert len(hops) == (1 if engine.dialect.name == "sqlite" else 2), hops
    assert sum("_QueueSink._work" in h for h in hops) == 1, hops


def test_free_finding_with_photos_is_idempotent_under_the_tablets_id(client, as_, draft, engine):
    """A free finding (另报问题) made on the tablet carries photos like an answer: they are PUT
    under the inspection (same rule), then the finding is POSTed under its tablet id as
    Idempotency-Key: a resend answers the same finding and makes nothing; other content is a 409."""
    from services.supervision.models import finding_t

    assert _put(client, as_, "f1-a", jpeg(colour="green")).status_code == 201
    assert _put(client, as_, "f1-a", jpeg(colour="green")).status_code == 200  # resent photo: same rule
    body = {
        "plan_id": draft["plan_id"],
        "target_code": draft["target_code"],
        "county_code": "360102",
        "category": "illegal_dumping",
        "severity": "major",
        "description": "东门外有偷倒的建筑垃圾",
        "inspection": "c1",
        "photo_ids": ["f1-a"],
    }
    key = as_("inspector", **{"Idempotency-Key": "0c7e2d5a-free-finding-1"})
    first = client.post("/findings", json=body, headers=key)
    assert first.status_code == 201, first.text
    again = client.post("/findings", json=body, headers=key)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    other = client.post("/findings", json=body | {"description": "另一处"}, headers=key)
    assert other.status_code == 409
    got = client.get(f"/findings/{first.json()['id']}", headers=as_("office")).json()
    assert [p["photo_id"] for p in got["photos"]] == ["f1-a"]
    with engine.connect() as conn:
        assert len(conn.execute(select(finding_t).where(finding_t.c.category == "illegal_dumping")).all()) == 1


def test_photo_put_refuses_before_the_body_another_teams_or_an_unknown_inspection(client, as_, draft):
    other = as_("inspector2", **{"Content-Type": "image/jpeg"})
    r = client.put("/inspections/c1/photos/p1", content=jpeg(), headers=other)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert _put(client, as_, "p1", jpeg()).status_code == 201  # the team's own inspector may
    r = client.put("/inspections/nope/photos/p1", content=jpeg(), headers=as_("inspector"))
    assert r.status_code == 404
    assert client.put("/inspections/c1/photos/p2", content=jpeg(), headers=as_("county")).status_code == 403
