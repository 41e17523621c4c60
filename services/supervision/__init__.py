"""The supervision service (督导检查服务): teams, checklists, plans, tablet inspections, findings,
rectification orders with escalation, enforcement records, reports and circulars.

Where the four roles are (CONVENTIONS.md, "One package per service"): there is no top-level
``service.py``; each sub-domain package — ``plans/``, ``inspections/``, ``rectification/``,
``enforcement/``, ``reports/`` — holds its own ``schemas.py``, ``repository.py``, ``service.py`` and
``router.py``. What they share sits at the top: ``photos.py`` (the photo rules of every owner),
``photo_repository.py``, ``photo_routes.py``, ``repository.py`` (query helpers), ``deps.py``.
"""
