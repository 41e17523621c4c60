"""Tables of the supervision service. So far only the kernel's outbox and idempotency tables: the
domain tables come with the supervision issues."""

from sqlmodel import SQLModel

from services.common.db import new_registry
from services.common.idempotency import Idempotency, idempotency_table
from services.common.jobs import job_tables
from services.common.outbox import Outbox, outbox_table


class SupervisionTable(SQLModel, registry=new_registry()):
    """Base of every table model of this service (its own metadata)."""


metadata = SupervisionTable.metadata
outbox = Outbox(outbox_table(metadata), "supervision")
idempotency = Idempotency(idempotency_table(metadata))
jobs = job_tables(metadata)
