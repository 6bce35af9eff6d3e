"""connection sync: API credentials per connection and the sync cursor

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as table:
        table.add_column(sa.Column("api_url", sa.String(length=500), nullable=True))
        table.add_column(sa.Column("api_token", sa.String(length=512), nullable=True))
        table.add_column(sa.Column("api_account", sa.String(length=64), nullable=True))
        table.add_column(sa.Column("sync_every", sa.Integer(), nullable=True))
    op.create_table(
        "connection_syncs",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("high_water", sa.Float(), nullable=True),
        sa.Column("run_high", sa.Float(), nullable=True),
        sa.Column("page", sa.String(length=2000), nullable=True),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("connection_id"),
    )


def downgrade() -> None:
    op.drop_table("connection_syncs")
    with op.batch_alter_table("connections") as table:
        table.drop_column("sync_every")
        table.drop_column("api_account")
        table.drop_column("api_token")
        table.drop_column("api_url")
