"""automatic caller blocks: global_blocks.expires_at

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

A number-sweeping caller is blocked automatically for a while: such a global block
carries ``expires_at``; an operator's block leaves it NULL (permanent). Added with a
plain ALTER TABLE (nullable, no constraint), like ``call_records.caller_key`` in 0004,
never with a batch table copy.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "global_blocks", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    # Without the column an automatic block would become permanent: drop them instead.
    op.execute(sa.text("DELETE FROM global_blocks WHERE expires_at IS NOT NULL"))
    op.drop_column("global_blocks", "expires_at")  # no constraint on it: no table copy
