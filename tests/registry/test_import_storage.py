"""Import uploads live in the file storage (``SORTLINE_REGISTRY_STORAGE_URL``), not on one replica's
disk: upload → ready → confirm → done works through local storage and through S3 (a real SeaweedFS),
the upload is kept while the job may still be confirmed and removed once it is done."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from services.common.s3_storage import S3Storage
from services.common.storage import LocalStorage
from services.registry.app import create_app
from services.registry.bulk import jobs
from services.registry.config import Settings
from services.registry.models import facility_t, import_job_t
from tests.registry.importing import FACILITY_HEADERS, csv_file, facility_row, stored_uploads
from tests.support.seaweed import SeaweedS3

Headers = Callable[..., dict[str, str]]


@pytest.fixture(autouse=True)
def _inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs run in the request's background task: done when the response is back."""
    monkeypatch.setenv("SORTLINE_REGISTRY_IMPORT_INLINE", "1")


def _upload(client: TestClient, headers: dict[str, str], data: bytes) -> dict[str, Any]:
    r = client.post("/imports?kind=facilities", files={"file": ("设施.csv", data, "text/csv")}, headers=headers)
    assert r.status_code == 202, r.text
    job: dict[str, Any] = client.get(f"/imports/{r.json()['id']}", headers=headers).json()
    return job


def _file_key(engine: Engine, job_id: str) -> str:
    with engine.connect() as conn:
        key = conn.execute(select(import_job_t.c.file_path).where(import_job_t.c.id == job_id)).scalar_one()
    assert isinstance(key, str)
    return key


def _facilities(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(facility_t.c.code)).all())


def test_local_storage_keeps_the_upload_until_done(
    client: TestClient, engine: Engine, as_: Headers, settings: Settings
) -> None:
    job = _upload(client, as_("county"), csv_file(FACILITY_HEADERS, [facility_row(i) for i in range(1, 4)]))
    assert job["status"] == "ready", job
    key = _file_key(engine, job["id"])
    storage = jobs.open_storage(settings, jobs.ImportSettings())
    assert isinstance(storage, LocalStorage) and storage.exists(key)
    assert stored_uploads() == [storage.root / key]  # under <data dir>/files, the default

    r = client.post(f"/imports/{job['id']}/confirm", headers=as_("county"))
    assert r.status_code == 202, r.text
    job = client.get(f"/imports/{job['id']}", headers=as_("county")).json()
    assert job["status"] == "done" and job["created_count"] == 3, job
    assert _facilities(engine) == 3
    assert not storage.exists(key) and stored_uploads() == []
    assert not list(jobs.imports_dir().iterdir())  # no temporary copy left behind


def test_an_invalid_upload_is_kept_for_its_report(client: TestClient, engine: Engine, as_: Headers) -> None:
    job = _upload(client, as_("county"), csv_file(FACILITY_HEADERS, [facility_row(1, lat="北纬")]))
    assert job["status"] == "invalid", job
    assert client.get(f"/imports/{job['id']}/report", headers=as_("county")).status_code == 200
    assert len(stored_uploads()) == 1


@pytest.mark.s3
def test_s3_storage_lets_another_replica_confirm(
    seaweed_s3: SeaweedS3, engine: Engine, as_: Headers, settings: Settings
) -> None:
    bucket = f"imports-{uuid.uuid4().hex[:12]}"
    query = urlencode(
        {"endpoint": seaweed_s3.endpoint_url, "access_key": seaweed_s3.access_key, "secret_key": seaweed_s3.secret_key}
    )
    s3_settings = settings.model_copy(update={"storage_url": f"s3://{bucket}/uploads?{query}"})
    # Two replicas on one database: each its own app, runner and storage client.
    first = TestClient(create_app(s3_settings, engine), raise_server_exceptions=False)
    second = TestClient(create_app(s3_settings, engine), raise_server_exceptions=False)
    raw = boto3.client(
        "s3",
        endpoint_url=seaweed_s3.endpoint_url,
        aws_access_key_id=seaweed_s3.access_key,
        aws_secret_access_key=seaweed_s3.secret_key,
        region_name=seaweed_s3.region,
    )

    def objects() -> list[str]:
        listed = raw.list_objects_v2(Bucket=bucket)
        return sorted(o["Key"] for o in listed.get("Contents", []))

    job = _upload(first, as_("county"), csv_file(FACILITY_HEADERS, [facility_row(i) for i in range(1, 4)]))
    assert job["status"] == "ready", job
    key = _file_key(engine, job["id"])
    assert objects() == [f"uploads/{key}"]
    assert stored_uploads() == []  # nothing on this replica's disk

    r = second.post(f"/imports/{job['id']}/confirm", headers=as_("county"))
    assert r.status_code == 202, r.text
    job = second.get(f"/imports/{job['id']}", headers=as_("county")).json()
    assert job["status"] == "done" and job["created_count"] == 3, job
    assert _facilities(engine) == 3
    assert objects() == []
    assert isinstance(second.app.state.file_storage, S3Storage)  # type: ignore[attr-defined]
