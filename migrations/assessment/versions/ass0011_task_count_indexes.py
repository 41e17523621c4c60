"""task indexes covering the quarter board's and the forecast's counts

Revision ID: ass0011
Revises: ass0010
Create Date: 2026-12-03 21:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "ass0011"
down_revision: str | None = "ass0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_quarter_unit_category_state",
            ["quarter_id", "unit_code", "category", "state", "due_date"],
            unique=False,
        )
        batch_op.create_index(
            "ix_task_quarter_item_unit_state", ["quarter_id", "item_code", "unit_code", "state"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_quarter_item_unit_state")
        batch_op.drop_index("ix_task_quarter_unit_category_state")
