"""The supervision service's HTTP API, served at the service root (the gateway mounts it at
/api/v1/supervision/). The routes live in the sub-domain packages; this module only lists them.
Fixed paths (``/findings/points``, ``/rectifications/board``) come before ``/{id}`` routes.

The API at a glance (OpenAPI at ``/openapi.json`` has every body with examples; lists answer
``{"items": [...], "next_cursor": ...}``, keyset-paginated, newest first):

- Teams and checklists: ``GET /teams``, ``GET|PUT /teams/{code}``; ``GET /checklists``,
  ``GET /checklists/{id}``, ``POST /checklists`` (a draft; same code = next version),
  ``PUT /checklists/{id}`` (drafts only), ``POST /checklists/{id}/publish``.
- Plans: ``GET /plans``, ``POST /plans`` (targets from the registry, scheduled on working days),
  ``GET /plans/{id}`` (with ``checklist.items``), ``GET /plans/{id}/targets?inspector=&day=``,
  ``POST /plans/{id}/finish``; ``GET /today?inspector=<username>&day=`` (an inspector's list).
- The tablet: ``PUT /inspections/{client_id}`` (201 / 200 same body / 409 other body),
  ``PUT /inspections/{client_id}/photos/{photo_id}?latitude=&longitude=&accuracy_m=&taken_at=``
  (raw image body; same rule by SHA-256), ``POST /inspections/{client_id}/submit`` (409 while a
  named photo is missing), ``GET /inspections?plan=``, ``GET /inspections/{client_id}``;
  ``GET /photos/{id}`` and ``/photos/{id}/thumbnail``.
- Findings: ``GET /findings?plan=&county=&category=&state=``, ``GET /findings/points`` (map),
  ``GET /findings/duplicates?target_code=&category=`` (offer before creating), ``POST /findings``
  (409 ``likely_duplicate`` unless ``allow_duplicate``), ``GET /findings/{id}``.
- Rectification: ``GET /rectifications?state=&overdue=&party=&plan=``, ``GET /rectifications/board``,
  ``GET /rectifications/{id}`` (finding, before/after photos, events, 督办 records, the caller's
  ``allowed_actions``), ``PUT /rectifications/{id}/photos/{photo_id}`` (after-photos),
  ``POST /rectifications/{id}/transition`` (``accept`` | ``submit_fix`` | ``verify`` | ``reject``).
- Enforcement: ``GET|POST /enforcement``, ``GET|PUT|DELETE /enforcement/{id}``,
  ``PUT /enforcement/{id}/photos/{photo_id}``, ``GET /enforcement/summary?quarter=2026Q4``.
- Reports and circulars: ``POST /plans/{id}/reports`` (202, built by a job), ``GET /reports``,
  ``GET /reports/{id}``, ``GET /reports/{id}.pdf`` / ``.html``, ``PATCH /reports/{id}`` (summary),
  ``POST /reports/{id}/publish``, ``POST /reports/{id}/circulars``, ``GET /circulars`` (published
  ones for every user: the units' home page), ``GET /circulars/{id}``, ``GET /circulars/{id}.pdf``,
  ``POST /circulars/{id}/publish`` (event ``sortline.supervision.circular.published``).
"""

from fastapi import APIRouter

from services.supervision.enforcement.router import router as enforcement_router
from services.supervision.inspections.router import router as inspections_router
from services.supervision.plans.router import router as plans_router
from services.supervision.rectification.router import router as rectification_router
from services.supervision.reports.router import router as reports_router

routers: list[APIRouter] = [plans_router, inspections_router, rectification_router, enforcement_router, reports_router]
