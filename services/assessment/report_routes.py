"""HTTP routes for rankings (成员单位考核), the archive and auto-evidence."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from services.assessment import archive, autoevidence, rankings
from services.assessment.app_state import Ports, get_ports
from services.assessment.background import ARCHIVE_JOB, runner_of
from services.assessment.routing import tag_routes
from services.assessment.schemas import SubmissionPublic
from services.assessment.score_schemas import ArchiveStatus, Ranking, RatingBody
from services.common import clock
from services.common.auth import CallerDep
from services.common.db import ReadSessionDep, SessionDep, session_scope
from services.common.responses import JSONBody

PortsDep = Annotated[Ports, Depends(get_ports)]
PERIOD = Annotated[str, Query(description="考核期：季度 2026Q4 或年份 2026", examples=["2026Q4"])]
router = APIRouter()
on_rankings = tag_routes(router, "rankings")
on_archive = tag_routes(router, "archive")
on_tasks = tag_routes(router, "tasks")


def _ranking(request: Request, caller: Any, session: Any, ports: Ports, period: str) -> dict[str, Any]:
    return rankings.ranking(
        session, caller, ports.settings, ports.registry, ports.supervision, ports.calendar(), period
    )


@on_rankings.get(
    "/rankings", "成员单位考核排名（定量：按时提交率、一次通过率、逾期工作日、督导整改；定性：领导评价）", Ranking
)
def get_rankings(
    request: Request, period: PERIOD, caller: CallerDep, session: ReadSessionDep, ports: PortsDep
) -> Response:
    return JSONBody(_ranking(request, caller, session, ports, period))


@on_rankings.put("/rankings/{period}/ratings/{unit_code}", "录入领导定性评价（0-100 分）")
def put_rating(period: str, unit_code: str, body: RatingBody, caller: CallerDep, session: SessionDep) -> Response:
    return JSONBody(rankings.rate(session, caller, period, unit_code, body.score, body.comment))


@on_rankings.get("/rankings/circular.pdf", "成员单位考核通报（PDF，GB/T 9704-2012 公文格式）")
def ranking_circular(
    request: Request,
    period: PERIOD,
    caller: CallerDep,
    session: ReadSessionDep,
    ports: PortsDep,
    number: Annotated[str, Query(description="发文字号", examples=["洪分类办〔2026〕12号"])] = "",
) -> Response:
    result = _ranking(request, caller, session, ports, period)
    number = number or f"洪分类办〔{clock.today().year}〕号"
    pdf = rankings.circular_pdf(result, number, clock.today())
    name = quote(f"成员单位考核通报_{period}.pdf")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f"inline; filename=\"circular.pdf\"; filename*=UTF-8''{name}"},
    )


@on_archive.post(
    "/quarters/{quarter_id}/archive",
    "生成季度档案包（后台任务；已在生成时返回同一任务）",
    ArchiveStatus,
    status_code=202,
)
def start_archive(quarter_id: str, request: Request, caller: CallerDep) -> Response:
    runner = runner_of(request.app)
    with session_scope(request.app.state.engine) as session:
        row = archive.request_archive(session, caller, quarter_id)
        if row.state == "queued":
            runner.enqueue(session, ARCHIVE_JOB, {"archive_id": row.id}, dedupe_key=f"archive:{row.id}")
        body = archive.status_public(row)
    wake = getattr(runner, "wake", None)
    if wake is not None:
        wake()
    return JSONBody(body, status_code=202)


@on_archive.get("/quarters/{quarter_id}/archive/status", "档案包生成进度", ArchiveStatus)
def archive_status(quarter_id: str, caller: CallerDep, session: ReadSessionDep) -> Response:
    if not caller.is_city_wide:
        from services.assessment import errors

        raise errors.not_allowed("查看档案包")
    return JSONBody(archive.status_public(archive.latest(session, quarter_id)))


@on_archive.get("/quarters/{quarter_id}/archive", "下载季度档案包（ZIP，流式，支持 Range）")
def download_archive(
    quarter_id: str, request: Request, caller: CallerDep, session: ReadSessionDep, ports: PortsDep
) -> Response:
    from services.common.downloads import file_response  # kernel-files

    if not caller.is_city_wide:
        from services.assessment import errors

        raise errors.not_allowed("下载档案包")
    row = archive.latest(session, quarter_id, done=True)
    assert row.key is not None
    return file_response(
        request,
        ports.storage,
        row.key,
        filename=f"{quarter_id}_国检档案.zip",
        content_type="application/zip",
        size=row.size,
        etag=row.sha256,
    )


@on_tasks.create(
    "/tasks/{task_id}/auto-evidence",
    "为指标类评估项目自动生成佐证材料（登记台账数据 PDF，作为系统提交）",
    SubmissionPublic,
)
def auto_evidence(task_id: int, caller: CallerDep, session: SessionDep, ports: PortsDep) -> Response:
    return JSONBody(autoevidence.generate(session, caller, ports.registry, ports.storage, task_id), status_code=201)
