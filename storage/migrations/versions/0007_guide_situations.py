"""knowledge: 适用情形 (guide_item.situations), the situations that need an item in enterprises' words

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("guide_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("situations", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("guide_item", schema=None) as batch_op:
        batch_op.drop_column("situations")
