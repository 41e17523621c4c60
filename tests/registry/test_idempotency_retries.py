"""A county system's retries: the same Idempotency-Key with any other body is a 409, even when that
other body would not pass validation; a fresh key with a bad body is an ordinary 422."""

from tests.registry.conftest import VEHICLE


def test_reused_key_with_an_invalid_body_is_a_conflict(client, as_) -> None:
    headers = as_("key", **{"Idempotency-Key": "nc-0001"})
    first = client.post("/vehicles", json=VEHICLE, headers=headers)
    assert first.status_code == 201
    broken = client.post("/vehicles", json={"plate_number": "赣AD12346"}, headers=headers)
    assert broken.status_code == 409
    assert broken.json()["error"] == "idempotency_key_reused"
    replay = client.post("/vehicles", json=VEHICLE, headers=headers)
    assert replay.status_code == 201 and replay.json()["code"] == first.json()["code"]


def test_fresh_key_with_an_invalid_body_is_a_validation_error(client, as_) -> None:
    resp = client.post("/vehicles", json={"plate_number": "赣AD12346"}, headers=as_("key", **{"Idempotency-Key": "k2"}))
    assert resp.status_code == 422
    assert {d["field"] for d in resp.json()["details"]} >= {"category", "energy_type"}


def test_keys_are_scoped_to_the_caller(client, as_) -> None:
    first = client.post("/vehicles", json=VEHICLE, headers=as_("key", **{"Idempotency-Key": "same"}))
    assert first.status_code == 201
    other = client.post("/vehicles", json={"plate_number": "x"}, headers=as_("office", **{"Idempotency-Key": "same"}))
    assert other.status_code == 422
