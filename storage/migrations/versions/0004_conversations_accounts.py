"""conversations and accounts: conversations, their turns, canned replies; console users, log-in sessions, attempts, the audit log

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:00:00.000000
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# 常用语 a butler needs on the first day; administrators edit the table afterwards
CANNED_REPLIES = [
    ("问候", "您好，我是您的企业管家，很高兴为您服务。请问有什么可以帮您？"),
    ("稍等", "请稍等，我正在为您核实相关情况。"),
    ("已转交", "已为您转交相关部门办理，有进展会第一时间告知您。"),
    ("需要材料", "为了尽快帮您处理，请提供相关材料或照片，以及方便联系的时间。"),
    ("电话联系", "我稍后会电话联系您，请保持电话畅通。"),
    ("提交诉求", "这个问题需要登记为诉求工单跟进，我来帮您提交，请描述一下具体情况。"),
    ("结束语", "感谢您的耐心，如还有其他问题，随时在这里留言。"),
]


def upgrade() -> None:
    op.create_table(
        "conversation",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sender", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("handoff_reason", sa.String(length=200), nullable=False),
        sa.Column("waiting_since", sa.DateTime(), nullable=True),
        sa.Column("butler_id", sa.Integer(), nullable=True),
        sa.Column("butler_name", sa.String(length=50), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("unanswered_streak", sa.Integer(), nullable=False),
        sa.Column("last_butler_activity_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("state IN ('bot', 'waiting', 'butler')", name="ck_conversation_state"),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["butler_id"], ["butler.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender"),
    )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_butler_id", ["butler_id"], unique=False)
        batch_op.create_index("ix_conversation_enterprise_id", ["enterprise_id"], unique=False)
        batch_op.create_index("ix_conversation_state_waiting", ["state", "waiting_since"], unique=False)

    op.create_table(
        "conversation_message",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("custom", sa.JSON(), nullable=True),
        sa.Column("buttons", sa.JSON(), nullable=True),
        sa.Column("client_message_id", sa.String(length=64), nullable=True),
        sa.Column("author", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "role IN ('enterprise', 'bot', 'butler', 'system', 'note')", name="ck_conversation_message_role"
        ),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id", "client_message_id", name="uq_conversation_message_client_id"),
    )
    with op.batch_alter_table("conversation_message", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_message_conversation_id", ["conversation_id"], unique=False)
        # one frame per number; internal notes share the number of the frame they follow
        batch_op.create_index(
            "uq_conversation_message_seq",
            ["conversation_id", "seq"],
            unique=True,
            sqlite_where=sa.text("role <> 'note'"),
            postgresql_where=sa.text("role <> 'note'"),
        )

    canned = op.create_table(
        "canned_reply",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=50), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    now = datetime(2026, 11, 30, 2, 0, 0)
    op.bulk_insert(
        canned,
        [
            {"title": title, "text": text, "position": index, "active": True, "created_at": now}
            for index, (title, text) in enumerate(CANNED_REPLIES, start=1)
        ],
    )

    op.create_table(
        "console_user",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("butler_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("display_name", sa.String(length=50), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("role IN ('butler', 'head', 'admin')", name="ck_console_user_role"),
        sa.ForeignKeyConstraint(["butler_id"], ["butler.id"]),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["console_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.create_index("ix_login_session_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_login_session_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempt_username_client", ["username", "client", "created_at"])
        batch_op.create_index("ix_login_attempt_client", ["client", "created_at"])

    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entry_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_audit_entry_department_id", ["department_id"], unique=False)
        batch_op.create_index("ix_audit_entry_target", ["target"], unique=False)


def downgrade() -> None:
    op.drop_table("audit_entry")
    op.drop_table("login_attempt")
    op.drop_table("login_session")
    op.drop_table("console_user")
    op.drop_table("canned_reply")
    op.drop_table("conversation_message")
    op.drop_table("conversation")
