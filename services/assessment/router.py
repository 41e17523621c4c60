"""HTTP routes of the assessment service (the gateway serves them under ``/api/v1/assessment/``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from services.assessment import catalogues, quarters, scores, tasks
from services.assessment.app_state import Ports, get_ports
from services.assessment.routing import tag_routes
from services.assessment.schemas import (
    AliasBody,
    CatalogueDetail,
    CatalogueList,
    CataloguePublic,
    CompareReport,
    DueBody,
    ItemBody,
    JudgementBody,
    QuarterList,
    QuarterOpen,
    QuarterPublic,
    QuarterState,
    ReviewBody,
    SubmissionPublic,
    TaskDetail,
    TaskList,
    TaskPage,
    TaskPublic,
)
from services.assessment.score_schemas import Board, Forecast, ResultBody, ResultList, ResultPublic
from services.common.auth import CallerDep
from services.common.db import ReadSessionDep, SessionDep
from services.common.responses import JSONBody
from services.common.routing import Routes

PortsDep = Annotated[Ports, Depends(get_ports)]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter()
on_catalogue = tag_routes(router, "catalogue")
on_quarters = tag_routes(router, "quarters")
on_scores = tag_routes(router, "scores")
on_tasks = tag_routes(router, "tasks")


def _attachment(name: str) -> dict[str, str]:
    from urllib.parse import quote

    return {"Content-Disposition": f"attachment; filename=\"export\"; filename*=UTF-8''{quote(name)}"}


# ---------------------------------------------------------------------------------------- catalogue


def _list_all(api: Routes, path: str, summary: str, model: Any, name: str, listing: Callable[[Session], Any]) -> None:
    """A GET answering ``listing(session)``, every row of one kind (no filters, no pages): catalogue
    versions, quarters. ``name`` names the route (and its OpenAPI operation id)."""

    def route(_caller: CallerDep, session: ReadSessionDep) -> Response:
        return JSONBody(listing(session))

    api.get(path, summary, model, name=name)(route)


_list_all(on_catalogue, "/catalogues", "评估细则版本列表", CatalogueList, "list_catalogues", catalogues.listing)


@on_catalogue.create(
    "/catalogues/import",
    "导入评估细则（XLSX/CSV 或 YAML），整个文件无误才保存为新草稿",
    CataloguePublic,
    description="表格列：序号|评估类别|评估项目|分值|评分细则|档案资料|责任单位（另接受六安、银川格式）。",
)
async def import_catalogue(
    caller: CallerDep,
    request: Request,
    session: SessionDep,
    ports: PortsDep,
    file: Annotated[UploadFile, File(description="XLSX、CSV 或 YAML 文件")],
    name: Annotated[str | None, Form(description="版本名称（默认取文件名或 YAML 的 name）")] = None,
) -> Response:
    data = await file.read()
    result = await run_in_threadpool(
        catalogues.import_file, session, caller, ports.registry, data, file.filename or "catalogue.xlsx", name
    )
    return JSONBody(result, status_code=201)


@on_catalogue.get("/catalogues/compare", "比较两个版本（逐项：新增、删除、分值变化）", CompareReport)
def compare_catalogues(
    _caller: CallerDep,
    session: ReadSessionDep,
    from_id: Annotated[int, Query(alias="from", description="旧版本 id")],
    to_id: Annotated[int, Query(alias="to", description="新版本 id")],
) -> Response:
    return JSONBody(catalogues.compare(session, from_id, to_id))


@on_catalogue.get("/catalogues/{catalogue_id}", "查看评估细则版本（含全部评估项目）", CatalogueDetail)
def get_catalogue(catalogue_id: int, _caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(catalogues.detail(session, catalogue_id))


@on_catalogue.get("/catalogues/{catalogue_id}/export", "导出评估细则（xlsx 或 yaml）")
def export_catalogue(
    catalogue_id: int,
    _caller: CallerDep,
    session: ReadSessionDep,
    ports: PortsDep,
    format: Literal["xlsx", "yaml"] = "xlsx",
) -> Response:
    cat = catalogues.get(session, catalogue_id)
    body = catalogues.export(session, ports.registry, catalogue_id, format)
    name = f"{cat.name}_v{cat.version}.{format}"
    if isinstance(body, bytes):
        return Response(body, media_type="application/yaml; charset=utf-8", headers=_attachment(name))
    return StreamingResponse(body, media_type=XLSX, headers=_attachment(name))


@on_catalogue.post("/catalogues/{catalogue_id}/publish", "发布草稿（发布后不可修改）", CataloguePublic)
def publish_catalogue(catalogue_id: int, caller: CallerDep, session: SessionDep) -> Response:
    return JSONBody(catalogues.publish(session, caller, catalogue_id))


@on_catalogue.create("/catalogues/{catalogue_id}/drafts", "基于此版本新建草稿（修改已发布版本的方式）", CataloguePublic)
def draft_catalogue(catalogue_id: int, caller: CallerDep, session: SessionDep) -> Response:
    return JSONBody(catalogues.new_draft(session, caller, catalogue_id), status_code=201)


@on_catalogue.put("/catalogues/{catalogue_id}/items/{code}", "新增或修改草稿中的评估项目")
def put_item(
    catalogue_id: int, code: str, body: ItemBody, caller: CallerDep, session: SessionDep, ports: PortsDep
) -> Response:
    return JSONBody(
        catalogues.put_item(session, caller, ports.registry, catalogue_id, code, body.model_dump(mode="json"))
    )


@on_catalogue.delete("/catalogues/{catalogue_id}/items/{code}", "删除草稿中的评估项目", status_code=204)
def delete_item(catalogue_id: int, code: str, caller: CallerDep, session: SessionDep) -> Response:
    catalogues.delete_item(session, caller, catalogue_id, code)
    return Response(status_code=204)


@on_catalogue.get("/unit-aliases", "单位别名（导入时按名称或别名匹配登记台账的成员单位）")
def list_aliases(_caller: CallerDep, session: ReadSessionDep) -> Response:
    from services.assessment import repository

    return JSONBody({"items": [{"alias": a, "unit_code": c} for a, c in sorted(repository.aliases(session).items())]})


@on_catalogue.put("/unit-aliases", "新增或修改单位别名")
def put_alias(body: AliasBody, caller: CallerDep, session: SessionDep, ports: PortsDep) -> Response:
    return JSONBody(catalogues.set_alias(session, caller, ports.registry, body.alias, body.unit_code))


# ---------------------------------------------------------------------------------------- quarters


_list_all(on_quarters, "/quarters", "季度列表（新的在前）", QuarterList, "list_quarters", quarters.listing)


@on_quarters.create(
    "/quarters",
    "开启季度：按已发布的评估细则生成责任清单（每项档案资料 × 每个责任单位一个任务）",
    QuarterPublic,
)
def open_quarter(
    body: QuarterOpen, caller: CallerDep, session: SessionDep, ports: PortsDep, request: Request
) -> Response:
    result = quarters.open_quarter(
        session,
        caller,
        request.app.state.settings,
        ports.registry,
        ports.calendar(),
        body.id,
        body.catalogue_id,
        body.default_due,
    )
    return JSONBody(result, status_code=201)


@on_quarters.get("/quarters/{quarter_id}", "查看季度", QuarterPublic)
def get_quarter(quarter_id: str, _caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(quarters.public(quarters.get(session, quarter_id)))


@on_quarters.post(
    "/quarters/{quarter_id}/state", "改变季度状态：收集中 → 审核中 → 已锁定（锁定后一切冻结）", QuarterPublic
)
def quarter_state(
    quarter_id: str, body: QuarterState, caller: CallerDep, session: SessionDep, ports: PortsDep
) -> Response:
    snapshot = scores.snapshot(session, caller, ports.registry, quarter_id) if body.state == "locked" else None
    return JSONBody(quarters.set_state(session, caller, quarter_id, body.state, snapshot))


@on_quarters.put(
    "/quarters/{quarter_id}/items/{item_code}/due", "设定某评估项目的截止日期（未通过的任务随之改变；非工作日给出提示）"
)
def item_due(
    quarter_id: str, item_code: str, body: DueBody, caller: CallerDep, session: SessionDep, ports: PortsDep
) -> Response:
    return JSONBody(quarters.set_item_due(session, caller, ports.calendar(), quarter_id, item_code, body.due_date))


@on_scores.put("/quarters/{quarter_id}/items/{item_code}/judgement", "录入评估项目的评分依据或认定失分（用于得分预测）")
def item_judgement(
    quarter_id: str, item_code: str, body: JudgementBody, caller: CallerDep, session: SessionDep
) -> Response:
    return JSONBody(
        quarters.set_judgement(session, caller, quarter_id, item_code, body.inputs, body.lost_points, body.note)
    )


@on_scores.get("/quarters/{quarter_id}/items", "各评估项目的设定：截止日期、评分依据与认定失分（分类办设定过的项目）")
def item_settings(quarter_id: str, caller: CallerDep, session: ReadSessionDep) -> Response:
    if not caller.is_city_wide:
        from services.assessment import errors

        raise errors.not_allowed("查看评估项目的认定")
    return JSONBody(quarters.item_settings(session, quarter_id))


@on_quarters.get("/quarters/{quarter_id}/board", "季度看板：单位 × 评估类别，每格为已通过任务的占比", Board)
def quarter_board(
    quarter_id: str,
    caller: CallerDep,
    session: ReadSessionDep,
    ports: PortsDep,
    order: Annotated[
        Literal["unit", "weakest"], Query(description="unit：按单位编码；weakest：已通过占比最低的单位在前")
    ] = "unit",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="只返回这么多单位（分页）")] = None,
) -> Response:
    return JSONBody(
        quarters.board(session, caller, ports.registry, quarter_id, order=order, offset=offset, limit=limit)
    )


@on_quarters.get("/quarters/{quarter_id}/responsibilities", "责任清单（json，或 format=xlsx 导出）")
def responsibilities(
    quarter_id: str,
    caller: CallerDep,
    session: ReadSessionDep,
    ports: PortsDep,
    format: Literal["json", "xlsx"] = "json",
) -> Response:
    rows = quarters.responsibility_rows(session, caller, ports.registry, quarter_id)
    if format == "xlsx":
        return StreamingResponse(
            quarters.responsibility_xlsx(rows), media_type=XLSX, headers=_attachment(f"责任清单_{quarter_id}.xlsx")
        )
    return JSONBody({"quarter": quarter_id, "items": rows})


@on_scores.get(
    "/quarters/{quarter_id}/forecast", "得分预测：已得、待审、风险、已失分，按类别、单位，及最该盯的失分点", Forecast
)
def quarter_forecast(
    quarter_id: str,
    caller: CallerDep,
    session: ReadSessionDep,
    ports: PortsDep,
    unit_limit: Annotated[
        int | None, Query(ge=1, le=1000, description="by_unit 只给风险分最多的这么多单位（风险分降序）")
    ] = None,
) -> Response:
    return JSONBody(scores.forecast(session, caller, ports.registry, quarter_id, unit_limit=unit_limit))


# ---------------------------------------------------------------------------------------- tasks


@on_tasks.get("/tasks", "任务列表（单位只看本单位，县区只看本县区）", TaskPage)
def list_tasks(
    caller: CallerDep,
    session: ReadSessionDep,
    quarter: Annotated[str | None, Query(examples=["2026Q4"])] = None,
    unit: Annotated[str | None, Query(description="单位编码", examples=["U05"])] = None,
    state: Annotated[Literal["pending", "submitted", "approved", "returned"] | None, Query()] = None,
    category: Annotated[str | None, Query(description="评估类别")] = None,
    item: Annotated[str | None, Query(description="评估项目序号")] = None,
    overdue: Annotated[bool | None, Query(description="true 只看逾期，false 只看未逾期")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    return JSONBody(
        tasks.list_tasks(
            session,
            caller,
            quarter=quarter,
            unit=unit,
            state=state,
            category=category,
            item=item,
            overdue=overdue,
            cursor=cursor,
            limit=limit,
        )
    )


@on_tasks.get("/review-queue", "审核队列（最早提交的在前）", TaskList)
def review_queue(
    caller: CallerDep,
    session: ReadSessionDep,
    quarter: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    return JSONBody(tasks.queue(session, caller, quarter=quarter, unit=unit, category=category, limit=limit))


@on_tasks.get("/tasks/{task_id}", "任务详情：要求、各次提交（含文件）、审核意见与全部记录", TaskDetail)
def get_task(task_id: int, caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(tasks.detail(session, caller, task_id))


@on_tasks.patch("/tasks/{task_id}", "设定单个任务的截止日期", TaskPublic)
def patch_task(task_id: int, body: DueBody, caller: CallerDep, session: SessionDep, ports: PortsDep) -> Response:
    return JSONBody(tasks.set_due(session, caller, ports.calendar(), task_id, body.due_date))


@on_tasks.create(
    "/tasks/{task_id}/submissions",
    "提交材料（multipart：1-10 个 files、effective_date、note）：一次提交为一个新版本",
    SubmissionPublic,
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["files", "effective_date"],
                        "properties": {
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": 10},
                            "effective_date": {"type": "string", "format": "date", "example": "2026-11-30"},
                            "note": {"type": "string", "example": "领导小组文件及会议纪要"},
                        },
                    }
                }
            }
        }
    },
)
async def submit(task_id: int, request: Request, caller: CallerDep) -> Response:
    from services.assessment.evidence import submit_upload

    return JSONBody(await submit_upload(request, caller, task_id), status_code=201)


@on_tasks.post(
    "/tasks/{task_id}/review", "审核：通过，或退回（须写理由）；已通过的可由分类办重新打开（须写理由）", TaskPublic
)
def review(task_id: int, body: ReviewBody, caller: CallerDep, session: SessionDep) -> Response:
    return JSONBody(tasks.review(session, caller, task_id, body.decision, body.reason))


@on_tasks.get("/files/{file_id}", "在线查看（PDF、图片）或下载文件（?download=1）；支持 Range；其他单位的文件答 404")
async def get_file(file_id: int, request: Request, caller: CallerDep) -> Response:
    from services.assessment.evidence import file_download

    return await file_download(request, caller, file_id)


# ---------------------------------------------------------------------------------------- national results


@on_scores.get("/national-results", "国检结果及趋势（预测与实际）", ResultList)
def national_results(_caller: CallerDep, session: ReadSessionDep) -> Response:
    return JSONBody(scores.results(session))


@on_scores.put("/national-results/{quarter_id}", "录入或修改某季度的国检结果", ResultPublic)
def put_national_result(quarter_id: str, body: ResultBody, caller: CallerDep, session: SessionDep) -> Response:
    return JSONBody(scores.put_result(session, caller, quarter_id, body.model_dump()))


@on_scores.delete("/national-results/{quarter_id}", "删除某季度的国检结果", status_code=204)
def delete_national_result(quarter_id: str, caller: CallerDep, session: SessionDep) -> Response:
    scores.delete_result(session, caller, quarter_id)
    return Response(status_code=204)
