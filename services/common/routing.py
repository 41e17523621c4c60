"""Route declarations with a service's documented errors: ``Routes(router, read=..., write=...)``
adds the read errors to every GET and the write errors to every other method (and, with ``tag``,
that OpenAPI tag), so a route states only its path, summary, response model and what is its own:
``@api.get("/teams", "督导组列表", TeamList)``. Other keywords (``status_code``, ``description``,
``openapi_extra``, ``response_class``) go to the router unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
Responses = dict[int | str, dict[str, Any]]


class Routes:
    def __init__(self, router: APIRouter, *, read: Responses, write: Responses, tag: str | None = None) -> None:
        self.router = router
        self.read = read
        self.write = write
        self.tags = [tag] if tag is not None else None

    def _route(self, method: str, path: str, summary: str, model: Any, errors: Responses, **kw: Any) -> Decorator:
        add = getattr(self.router, method)
        decorator: Decorator = add(path, response_model=model, summary=summary, tags=self.tags, responses=errors, **kw)
        return decorator

    def get(self, path: str, summary: str, model: Any = None, **kw: Any) -> Decorator:
        return self._route("get", path, summary, model, self.read, **kw)

    def post(self, path: str, summary: str, model: Any = None, **kw: Any) -> Decorator:
        return self._route("post", path, summary, model, self.write, **kw)

    def put(self, path: str, summary: str, model: Any = None, *, created: str | None = None, **kw: Any) -> Decorator:
        """``created``: the PUT also creates, first answering 201 (documented with this description)."""
        errors = self.write if created is None else {201: {"model": model, "description": created}, **self.write}
        return self._route("put", path, summary, model, errors, **kw)

    def patch(self, path: str, summary: str, model: Any = None, **kw: Any) -> Decorator:
        return self._route("patch", path, summary, model, self.write, **kw)

    def delete(self, path: str, summary: str, model: Any = None, **kw: Any) -> Decorator:
        return self._route("delete", path, summary, model, self.write, **kw)
