"""wechat: enterprise binding codes, bindings and attempts; WeChat users (quota, delivery cursor) and seen pushes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 20:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "binding_code",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("used_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("binding_code", schema=None) as batch_op:
        batch_op.create_index(
            "ix_binding_code_enterprise_expires", ["enterprise_id", "expires_at"], unique=False
        )
    op.create_table(
        "enterprise_binding",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("bound_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["code_id"], ["binding_code.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject", name="uq_enterprise_binding_subject"),
    )
    with op.batch_alter_table("enterprise_binding", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enterprise_binding_enterprise_id"), ["enterprise_id"], unique=False
        )
    op.create_table(
        "binding_attempt",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("binding_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_binding_attempt_subject_at", ["subject", "at"], unique=False)
        batch_op.create_index("ix_binding_attempt_enterprise_at", ["enterprise_id", "at"], unique=False)
    op.create_table(
        "wechat_user",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("window_limit", sa.Integer(), nullable=False),
        sa.Column("window_sent", sa.Integer(), nullable=False),
        sa.Column("window_expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_delivered_seq", sa.Integer(), nullable=False),
        sa.Column("fallback_seq", sa.Integer(), nullable=False),
        sa.Column("choices_from_seq", sa.Integer(), nullable=False),
        sa.Column("choices_to_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("openid", name="uq_wechat_user_openid"),
        sa.UniqueConstraint("key", name="uq_wechat_user_key"),
    )
    op.create_table(
        "wechat_push",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", name="uq_wechat_push_dedupe_key"),
    )


def downgrade() -> None:
    op.drop_table("wechat_push")
    op.drop_table("wechat_user")
    with op.batch_alter_table("binding_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_binding_attempt_enterprise_at")
        batch_op.drop_index("ix_binding_attempt_subject_at")
    op.drop_table("binding_attempt")
    with op.batch_alter_table("enterprise_binding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprise_binding_enterprise_id"))
    op.drop_table("enterprise_binding")
    with op.batch_alter_table("binding_code", schema=None) as batch_op:
        batch_op.drop_index("ix_binding_code_enterprise_expires")
    op.drop_table("binding_code")
