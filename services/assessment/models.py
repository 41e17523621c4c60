"""Tables of the assessment service. So far only the kernel's outbox and idempotency tables: the
domain tables come with the assessment issues."""

from sqlmodel import SQLModel

from services.common.db import new_registry
from services.common.idempotency import Idempotency, idempotency_table
from services.common.jobs import job_tables
from services.common.outbox import Outbox, outbox_table


class AssessmentTable(SQLModel, registry=new_registry()):
    """Base of every table model of this service (its own metadata)."""


metadata = AssessmentTable.metadata
outbox = Outbox(outbox_table(metadata), "assessment")
idempotency = Idempotency(idempotency_table(metadata))
jobs = job_tables(metadata)
