"""a workflow counts the automatic reruns it has left (max_auto_reruns)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 19:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workflows") as batch:
        batch.add_column(sa.Column("auto_reruns_left", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("workflows") as batch:
        batch.drop_column("auto_reruns_left")
