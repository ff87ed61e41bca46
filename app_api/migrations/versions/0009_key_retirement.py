"""the retired wrapping-key versions, for writers to check inside their transaction

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

``key_retirement``: one row, ``oldest_usable``: wrapping-key versions below it are
retired (``safenum keys retire-old``). Seeded from the oldest version a data key is
wrapped under now (1 on an empty database); the row is also created on first use.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "key_retirement",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("oldest_usable", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_retirement")),
    )
    oldest = op.get_bind().scalar(sa.text("SELECT min(key_version) FROM owners"))
    op.bulk_insert(table, [{"id": 1, "oldest_usable": int(oldest or 1)}])


def downgrade() -> None:
    op.drop_table("key_retirement")
