"""The supervision service's HTTP API, served at the service root (the gateway mounts it at
/api/v1/supervision/). The routes live in the sub-domain packages; this module only lists them."""

from fastapi import APIRouter

from services.supervision.plans.router import router as plans_router

routers: list[APIRouter] = [plans_router]
