"""A report an officer made public on the results page (/congkhai MÃ): its content may be shown

Revision ID: 0600_ticket_public
Revises: 0500_chat_context
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0600_ticket_public"
down_revision = "0500_chat_context"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("public_at")
