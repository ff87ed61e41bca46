"""one change path: the outbox and the bridges that apply it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

``outbox``: one row per change Asterisk must follow, written in the transaction of
the change (``numbering.outbox``). ``bridge_nodes``: one row per bridge (one per
Asterisk node) with the id of the last entry it applied to its AstDB.
``text_records.claimed_by/claimed_until``: the relay that is sending a pending text
(plain nullable columns: no table copy).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        # Never reuse an id after a trim: bridges compare positions by id.
        sqlite_autoincrement=True,
    )
    op.create_table(
        "bridge_nodes",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_bridge_nodes")),
    )
    op.add_column("text_records", sa.Column("claimed_by", sa.String(length=64), nullable=True))
    op.add_column(
        "text_records", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("text_records", "claimed_until")
    op.drop_column("text_records", "claimed_by")
    op.drop_table("bridge_nodes")
    op.drop_table("outbox")
