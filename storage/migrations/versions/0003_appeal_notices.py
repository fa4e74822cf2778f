"""appeals: the outbox of notices the enterprise must hear (routed, butler reply, answered, re-opened)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appeal_notice",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("ticket_number", sa.String(length=20), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appeal_notice", schema=None) as batch_op:
        batch_op.create_index("ix_appeal_notice_delivered_id", ["delivered_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appeal_notice_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appeal_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appeal_notice_ticket_id"))
        batch_op.drop_index("ix_appeal_notice_delivered_id")

    op.drop_table("appeal_notice")
