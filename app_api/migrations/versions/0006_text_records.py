"""text relay: text_records

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

One row per text relayed through a safe number (incoming, or the driver's reply).
Body and the other party's number are sealed with the holder's data key; the row
goes with the owner (ON DELETE CASCADE).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "text_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("spool_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("peer_ref", sa.String(length=20), nullable=False),
        sa.Column("peer_key", sa.String(length=20), nullable=True),
        sa.Column("peer_ct", sa.LargeBinary(), nullable=True),
        sa.Column("body_ct", sa.LargeBinary(), nullable=False),
        sa.Column("body_bytes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_text_records_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_records")),
        sa.UniqueConstraint("spool_id", name=op.f("uq_text_records_spool_id")),
    )
    op.create_index(op.f("ix_text_records_owner_id"), "text_records", ["owner_id"])
    op.create_index("ix_text_records_number_received_at", "text_records", ["number", "received_at"])
    op.create_index("ix_text_records_status_received_at", "text_records", ["status", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_text_records_status_received_at", table_name="text_records")
    op.drop_index("ix_text_records_number_received_at", table_name="text_records")
    op.drop_index(op.f("ix_text_records_owner_id"), table_name="text_records")
    op.drop_table("text_records")
