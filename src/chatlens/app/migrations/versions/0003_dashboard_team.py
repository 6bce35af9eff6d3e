"""dashboards shared with a team

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite alters a table by copying it (Postgres alters in place)
    with op.batch_alter_table("dashboards") as batch:
        batch.add_column(sa.Column("team", sa.String(length=256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dashboards") as batch:
        batch.drop_column("team")
