"""The assessment service (考核评估服务): the indicator catalogue, each quarter's evidence tasks,
review, reminders, score forecast, unit ranking and the evidence archive.

Where the four roles are (CONVENTIONS.md, "One package per service"): there is no ``service.py``; the
rules are one module per sub-domain — ``catalogues.py``, ``quarters.py``, ``tasks.py`` (with
``workflow.py``, the transition table), ``evidence.py``, ``scores.py``/``scoring.py``,
``rankings.py``, ``archive.py``, ``reminders.py``. Every query is in ``repository.py``, the HTTP in
``router.py`` (+ ``report_routes.py``), the shapes in ``schemas.py`` (+ ``score_schemas.py``).
"""
