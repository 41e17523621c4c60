"""rectification orders carry their target's name

Revision ID: sup0004
Revises: sup0003
Create Date: 2026-12-03 17:00:00.000000

The name is the finding's (copied when the order is issued, as its target code is): the lists and
the board of orders name the compound, not only its registry code. Existing orders take it from
their finding.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "sup0004"
down_revision: str | None = "sup0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rectification", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("target_name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False, server_default="")
        )
    op.execute(
        "UPDATE rectification SET target_name = "
        "(SELECT finding.target_name FROM finding WHERE finding.id = rectification.finding_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("rectification", schema=None) as batch_op:
        batch_op.drop_column("target_name")
