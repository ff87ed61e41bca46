"""call blocking (drivers' blocks, global blocklist, caller key on call records)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

``call_records.caller_key`` is added with a plain ALTER TABLE (nullable: records
from before the dialplan computed it have none), never with a batch table copy.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "number_blocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("caller_ref", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_number_blocks_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_number_blocks")),
        sa.UniqueConstraint("number", "caller_ref", name="number_caller"),
    )
    op.create_index(op.f("ix_number_blocks_number"), "number_blocks", ["number"])
    op.create_index(op.f("ix_number_blocks_owner_id"), "number_blocks", ["owner_id"])
    op.create_table(
        "global_blocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("caller_key", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_global_blocks")),
        sa.UniqueConstraint("caller_key", name=op.f("uq_global_blocks_caller_key")),
    )
    op.add_column("call_records", sa.Column("caller_key", sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column("call_records", "caller_key")  # no constraint on it: no table copy
    op.drop_table("global_blocks")
    op.drop_index(op.f("ix_number_blocks_owner_id"), table_name="number_blocks")
    op.drop_index(op.f("ix_number_blocks_number"), table_name="number_blocks")
    op.drop_table("number_blocks")
