"""rasa brokers: connections' broker URL and queue, the consumers' positions

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("broker_url", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("broker_queue", sa.String(length=255), nullable=True))
    op.create_table(
        "connection_consumers",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("consumed", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=100), nullable=False),
        sa.Column("lag", sa.BigInteger(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("connection_id"),
    )


def downgrade() -> None:
    op.drop_table("connection_consumers")
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("broker_queue")
        batch.drop_column("broker_url")
