"""Download headers shared by the import and export routes."""

from __future__ import annotations

from urllib.parse import quote

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


def attachment(filename: str) -> dict[str, str]:
    """``Content-Disposition`` with an ASCII fallback and the Chinese name per RFC 5987."""
    suffix = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return {"Content-Disposition": f"attachment; filename=\"download.{suffix}\"; filename*=UTF-8''{quote(filename)}"}
