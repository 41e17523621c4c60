"""Downloads: streamed, named per RFC 6266, range requests; and the stored-file table behind them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import Session

from services.common.downloads import ascii_fallback, content_disposition, file_response, parse_range
from services.common.errors import NotFound, install_error_handlers
from services.common.files import delete_file_row, get_file, get_files, record_files, stored_file_table
from services.common.storage import MIB, FileStorage
from services.common.uploads import receive_upload
from tests.support.file_samples import SAMPLES, make_storage_fixture

DATA = os.urandom(3 * MIB + 1234)  # more than one chunk
SIZE = len(DATA)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FileStorage]:
    yield from make_storage_fixture(request, tmp_path, max_size=8 * MIB)


@pytest.fixture
def stored_key(storage: FileStorage) -> str:
    return storage.put(b"%PDF-1.7\n" + DATA, original_name="x.pdf").key


def make_app(storage: FileStorage, *, with_size: bool = True) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.api_route("/files/{a}/{b}/{name}", methods=["GET", "HEAD"])
    def download(request: Request, a: str, b: str, name: str) -> Response:
        key = f"{a}/{b}/{name}"
        return file_response(
            request,
            storage,
            key,
            filename="第三季度整改报告（终稿）.pdf",
            content_type="application/pdf",
            size=SIZE + 9 if with_size else None,
            inline=request.query_params.get("inline") == "1",
            etag="abc123",
            chunk_size=256 * 1024,
        )

    return app


async def get(app: FastAPI, key: str, headers: dict | None = None, method: str = "GET", query: str = ""):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        return await c.request(method, f"/files/{key}{query}", headers=headers or {})


FULL = b"%PDF-1.7\n" + DATA
TOTAL = len(FULL)


async def test_whole_file_streams_with_its_chinese_name(storage: FileStorage, stored_key: str) -> None:
    response = await get(make_app(storage), stored_key)

    assert response.status_code == 200
    assert response.content == FULL
    assert response.headers["content-length"] == str(TOTAL)
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["etag"] == '"abc123"'
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"download.pdf\"; filename*=UTF-8''")
    assert unquote(disposition.split("''", 1)[1]) == "第三季度整改报告（终稿）.pdf"


async def test_inline_for_a_pdf(storage: FileStorage, stored_key: str) -> None:
    response = await get(make_app(storage), stored_key, query="?inline=1")
    assert response.headers["content-disposition"].startswith("inline; ")


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1048570-1048600", 1048570, 1048600),  # across a chunk boundary
        ("bytes=3000000-", 3000000, TOTAL - 1),
        ("bytes=-500", TOTAL - 500, TOTAL - 1),
        ("bytes=-99999999", 0, TOTAL - 1),  # a suffix longer than the file: the whole file
        (f"bytes=100-{TOTAL + 1000}", 100, TOTAL - 1),  # an end past the file is cut to the file
        (f"bytes={TOTAL - 1}-{TOTAL - 1}", TOTAL - 1, TOTAL - 1),
    ],
)
async def test_one_range(storage: FileStorage, stored_key: str, header: str, start: int, end: int) -> None:
    response = await get(make_app(storage), stored_key, {"range": header})

    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/{TOTAL}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.content == FULL[start : end + 1]


@pytest.mark.parametrize("header", [f"bytes={TOTAL}-", f"bytes={TOTAL + 5}-{TOTAL + 10}", "bytes=-0"])
async def test_unsatisfiable_range(storage: FileStorage, stored_key: str, header: str) -> None:
    response = await get(make_app(storage), stored_key, {"range": header})

    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{TOTAL}"
    assert response.content == b""


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "bytes=abc", "items=0-5", "bytes=9-3", "bytes=-"])
async def test_ranges_we_ignore_get_the_whole_file(storage: FileStorage, stored_key: str, header: str) -> None:
    response = await get(make_app(storage), stored_key, {"range": header})

    assert response.status_code == 200
    assert response.content == FULL


async def test_if_range(storage: FileStorage, stored_key: str) -> None:
    same = await get(make_app(storage), stored_key, {"range": "bytes=0-9", "if-range": '"abc123"'})
    other = await get(make_app(storage), stored_key, {"range": "bytes=0-9", "if-range": '"changed"'})

    assert (same.status_code, same.content) == (206, FULL[:10])
    assert (other.status_code, other.content) == (200, FULL)


async def test_head(storage: FileStorage, stored_key: str) -> None:
    whole = await get(make_app(storage), stored_key, method="HEAD")
    part = await get(make_app(storage), stored_key, {"range": "bytes=10-19"}, method="HEAD")

    assert (whole.status_code, whole.headers["content-length"], whole.content) == (200, str(TOTAL), b"")
    assert (part.status_code, part.headers["content-range"], part.content) == (206, f"bytes 10-19/{TOTAL}", b"")


async def test_size_from_the_storage_and_missing_file(storage: FileStorage, stored_key: str) -> None:
    app = make_app(storage, with_size=False)
    response = await get(app, stored_key, {"range": "bytes=-10"})
    assert (response.status_code, response.content) == (206, FULL[-10:])

    storage.delete(stored_key)
    missing = await get(app, stored_key)
    assert missing.status_code == 404
    assert missing.json()["message"] == "文件不存在或已被删除"


def test_parse_range_edges() -> None:
    assert parse_range(None, 10) is None
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes = 2 - 4", 10) == (2, 4)
    assert parse_range("bytes=0-", 0) is False  # nothing can be sent of an empty file
    assert parse_range("bytes=-5", 0) is False


def test_content_disposition_is_rfc_6266() -> None:
    value = content_disposition('../整改\r\n报告"终稿".docx')
    assert "\r" not in value and "\n" not in value and "/" not in value
    fallback = value.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and fallback.endswith(".docx")
    assert unquote(value.split("filename*=UTF-8''", 1)[1]) == "整改 报告 终稿 .docx"
    assert ascii_fallback("Q4 汇总 v2.xlsx") == "Q4_v2.xlsx"
    assert ascii_fallback("南昌2026Q4.zip") == "2026Q4.zip"
    # an Office file is never shown inline, whatever the caller asks
    assert content_disposition("a.pdf", inline=True).startswith("inline;")


async def test_office_files_are_never_inline(storage: FileStorage) -> None:
    data = SAMPLES["docx"][0]
    key = storage.put(data, original_name="a.docx").key
    app = FastAPI()

    @app.get("/d")
    def download(request: Request) -> Response:
        ctype = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        return file_response(request, storage, key, filename="方案.docx", content_type=ctype, inline=True)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        response = await c.get("/d")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content == data


# --- upload -> stored_file row -> download, the way a service wires it --------------------------------


async def test_upload_record_and_download_by_id(storage: FileStorage, tmp_path: Path) -> None:
    metadata = MetaData()
    files_t = stored_file_table(metadata)
    engine = create_engine(f"sqlite:///{tmp_path / 'files.db'}")
    metadata.create_all(engine)
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/evidence")
    async def upload(request: Request) -> dict:
        form = await receive_upload(request, storage)
        with Session(engine) as session, session.begin():
            rows = record_files(session, files_t, form.files, uploaded_by="user:7")
        return {"ids": [r.id for r in rows]}

    @app.get("/evidence/{file_id}")
    def download(request: Request, file_id: str) -> Response:
        with Session(engine) as session:
            row = get_file(session, files_t, file_id)
        if row is None:
            raise NotFound("文件不存在")
        return file_response(
            request, storage, row.key, filename=row.original_name, content_type=row.content_type, size=row.size
        )

    pdf, png = SAMPLES["pdf"][0], SAMPLES["png"][0]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        uploaded = await c.post("/evidence", files=[("files", ("整改报告.pdf", pdf)), ("files", ("现场.png", png))])
        ids = uploaded.json()["ids"]
        first = await c.get(f"/evidence/{ids[0]}")
        second = await c.get(f"/evidence/{ids[1]}", headers={"range": "bytes=0-7"})
        missing = await c.get("/evidence/nope")

    assert first.content == pdf
    assert unquote(first.headers["content-disposition"].split("''")[1]) == "整改报告.pdf"
    assert (second.status_code, second.content, second.headers["content-type"]) == (206, png[:8], "image/png")
    assert missing.status_code == 404

    with Session(engine) as session, session.begin():
        rows = get_files(session, files_t, [ids[1], "nope", ids[0]])
        assert [r.original_name for r in rows] == ["现场.png", "整改报告.pdf"]
        assert rows[0].uploaded_by == "user:7" and rows[0].size == len(png) and rows[0].uploaded_at is not None
        removed = delete_file_row(session, files_t, ids[0])
        assert removed is not None and removed.key == rows[1].key
        assert get_file(session, files_t, ids[0]) is None


async def test_head_without_a_size(storage: FileStorage, stored_key: str) -> None:
    response = await get(make_app(storage, with_size=False), stored_key, method="HEAD")
    assert (response.status_code, response.headers["content-length"], response.content) == (200, str(TOTAL), b"")
