"""gateway: the web-chat tokens (chat_token table; only their SHA-256 is stored)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 17:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_token",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash", name="uq_chat_token_hash"),
    )
    with op.batch_alter_table("chat_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_token_conversation_id"), ["conversation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_token_conversation_id"))
    op.drop_table("chat_token")
