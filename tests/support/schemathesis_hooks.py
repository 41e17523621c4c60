"""Schemathesis hooks for ``tests/gateway/test_gateway_contract_schemathesis.py`` (loaded through
``SCHEMATHESIS_HOOKS``): realistic values where the document cannot describe a valid one.

Only schema-valid ("positive") cases are touched, and only in these places:
- the import upload's ``file``: the document says "an XLSX or CSV file with the template's header";
  a generated blob is never one, so a positive case sends a CSV with the header of the ``kind``
  asked for (rows are checked by the import job, not by the upload);
- references to other records (``street_code``, ``community_code``, a city key's ``county_code``,
  ``site_code``) and an upsert body's ``external_id`` (the one in its path): the document gives
  their form, the registry also wants them to exist (or to agree), which no schema can say; a
  positive body names the divisions the test registered; a facility body leaves ``category`` out
  (some kinds take one category only: a rule across two fields, in a PATCH the stored one);
- a list's ``cursor``: an opaque token that only a previous page's ``next_cursor`` gives (the
  document says so); a generated one is left out. An invalid cursor's 422 is tested in
  ``tests/gateway/test_gateway_contract_fixes.py``; negative cases still send broken cursors.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import schemathesis

# Registered by the test (tests/gateway/conftest.py seed_registry and the test's own fixture).
REGISTERED = {"county_code": "360102", "street_code": "360102001", "community_code": "360102001001"}


def _positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    # A negative case keeps what it was generated with.
    return meta is not None and meta.generation.mode.is_positive and not meta.generation.mode.is_negative


def template_csv(kind: str) -> bytes:
    from services.registry.bulk.columns import SPECS

    spec = SPECS[kind]
    row = ["x"] * len(spec.headers)  # one row: the upload wants data, the job judges it
    return (",".join(spec.headers.values()) + "\n" + ",".join(row) + "\n").encode("utf-8")


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    if not _positive(case):
        return
    # New dicts, never edits in place: the coverage phase shares a body between its cases.
    if isinstance(case.query, dict) and "cursor" in case.query:
        case.query = {k: value for k, value in case.query.items() if k != "cursor"}
    path = case.operation.path
    if not isinstance(case.body, dict):
        return
    body = case.body = dict(case.body)
    if case.method.upper() == "POST" and path.endswith("/imports"):
        kind = (case.query or {}).get("kind")
        if "file" in body and kind in {"sites", "facilities", "vehicles"}:
            # Text, which the document's ``type: string`` takes as it is (bytes would make the
            # case negative when Schemathesis checks the edited body against the schema).
            body["file"] = template_csv(kind).decode()
        return
    for field, value in REGISTERED.items():
        if isinstance(body.get(field), str):
            body[field] = value
    if "category" in body and "/facilities" in path:
        # The kind implies it, and some kinds take one category only: a rule across two fields,
        # in a PATCH against the stored kind (a 422 naming the field, as for any invalid body).
        del body["category"]
    if body.get("site_code"):
        body["site_code"] = None  # no site is registered in the test
    if case.method.upper() == "PUT" and "external_id" in body and case.path_parameters:
        body["external_id"] = unquote(str(case.path_parameters.get("external_id", body["external_id"])))
