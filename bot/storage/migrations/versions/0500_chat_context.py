"""The chat remembers what was last asked (for follow-ups like "còn tiêu chí 5 thì sao") and a pending offer

Revision ID: 0500_chat_context
Revises: 0400_reliability
"""
import sqlalchemy as sa
from alembic import op

revision = "0500_chat_context"
down_revision = "0400_reliability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.add_column(sa.Column("context", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.drop_column("context")
