"""filter: reviewed examples, and the model version on each text record

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

``filter_examples`` keeps the body of a text an operator marked as spam, or of a
released text with personal details masked (``blocking.review_examples``); no sender,
number or owner. ``text_records.filter_model`` names the model version that judged
the text (empty for texts no model judged).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "filter_examples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("label", sa.String(length=8), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filter_examples")),
    )
    op.create_index(op.f("ix_filter_examples_created_at"), "filter_examples", ["created_at"])
    with op.batch_alter_table("text_records") as batch:
        batch.add_column(
            sa.Column("filter_model", sa.String(length=40), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("text_records") as batch:
        batch.drop_column("filter_model")
    op.drop_index(op.f("ix_filter_examples_created_at"), table_name="filter_examples")
    op.drop_table("filter_examples")
