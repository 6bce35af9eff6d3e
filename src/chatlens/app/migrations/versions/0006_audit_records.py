"""audit trail: who viewed which transcript, who exported which conversation rows

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("seat", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("route", sa.String(length=300), nullable=False),
        sa.Column("conversation_id", sa.Text(), nullable=True),
        sa.Column("filters", sa.Text(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_records_workspace_at", "audit_records", ["workspace_id", "at"])
    op.create_index(
        "ix_audit_records_workspace_conversation",
        "audit_records",
        ["workspace_id", "conversation_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_audit_records_workspace_conversation", "audit_records")
    op.drop_index("ix_audit_records_workspace_at", "audit_records")
    op.drop_table("audit_records")
