"""login bookkeeping of unknown usernames

Revision ID: gw0031
Revises: gw0012
Create Date: 2026-12-03 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "gw0031"
down_revision: str | None = "gw0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_unknown_name",
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_login_unknown_name")),
    )
    with op.batch_alter_table("login_unknown_name", schema=None) as batch_op:
        batch_op.create_index("ix_login_unknown_name_last_failed_at", ["last_failed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_unknown_name", schema=None) as batch_op:
        batch_op.drop_index("ix_login_unknown_name_last_failed_at")
    op.drop_table("login_unknown_name")
