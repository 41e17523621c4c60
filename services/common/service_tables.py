"""The kernel's tables in a service's metadata: the outbox, the idempotency keys and the job runner's."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import MetaData

from services.common.idempotency import Idempotency, idempotency_table
from services.common.job_tables import JobTables, job_tables
from services.common.outbox import Outbox, outbox_table


class KernelTables(NamedTuple):
    outbox: Outbox
    idempotency: Idempotency
    jobs: JobTables


def kernel_tables(metadata: MetaData, service: str) -> KernelTables:
    """``outbox, idempotency, jobs = kernel_tables(metadata, "assessment")`` at the end of models.py."""
    return KernelTables(
        Outbox(outbox_table(metadata), service), Idempotency(idempotency_table(metadata)), job_tables(metadata)
    )
