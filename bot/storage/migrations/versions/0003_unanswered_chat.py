"""Join the feature branches (tickets, Zalo); unanswered questions know who asked

Revision ID: 0003_unanswered_chat
Revises: 0100_tickets, 0200_zalo
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_unanswered_chat"
down_revision = ("0100_tickets", "0200_zalo")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("unanswered_question", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chat_key", sqlmodel.sql.sqltypes.AutoString(length=96), nullable=True))
        batch_op.create_index(batch_op.f("ix_unanswered_question_chat_key"), ["chat_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unanswered_question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unanswered_question_chat_key"))
        batch_op.drop_column("chat_key")
