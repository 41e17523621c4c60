"""The supervision service's HTTP API, served at the service root (the gateway mounts it at
/api/v1/supervision/). The routes live in the sub-domain packages; this module only lists them.
Fixed paths (``/findings/points``, ``/rectifications/board``) come before ``/{id}`` routes."""

from fastapi import APIRouter

from services.supervision.enforcement.router import router as enforcement_router
from services.supervision.inspections.router import router as inspections_router
from services.supervision.plans.router import router as plans_router
from services.supervision.rectification.router import router as rectification_router
from services.supervision.reports.router import router as reports_router

routers: list[APIRouter] = [plans_router, inspections_router, rectification_router, enforcement_router, reports_router]
