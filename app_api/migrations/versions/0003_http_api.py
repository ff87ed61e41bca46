"""HTTP API (operators, agreements, tokens, idempotency)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Columns are added to ``pools`` and ``numbers`` with plain ALTER TABLE, never with a
batch table copy: on SQLite a copy drops the old table, and with foreign keys on that
would cascade into ``routes``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.Column("eligibility", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint("quota >= 0", name=op.f("ck_agreements_quota_min")),
        sa.CheckConstraint("term_start <= term_end", name=op.f("ck_agreements_term_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
    )
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("username", name=op.f("uq_operators_username")),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("used_at", nullable=True),
        _ts("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_refresh_tokens_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_refresh_tokens_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
    )
    op.create_index(op.f("ix_refresh_tokens_family"), "refresh_tokens", ["family"])
    op.create_index(op.f("ix_refresh_tokens_operator_id"), "refresh_tokens", ["operator_id"])
    op.create_index(op.f("ix_refresh_tokens_owner_id"), "refresh_tokens", ["owner_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"])

    op.add_column("numbers", sa.Column("card_token", sa.String(length=32), nullable=True))
    op.create_index(op.f("ix_numbers_card_token"), "numbers", ["card_token"], unique=True)
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE pools ADD COLUMN agreement_id INTEGER "
            "CONSTRAINT fk_pools_agreement_id_agreements REFERENCES agreements (id)"
        )
    else:
        op.add_column("pools", sa.Column("agreement_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_pools_agreement_id_agreements"),
            "pools",
            "agreements",
            ["agreement_id"],
            ["id"],
        )
    op.create_index(op.f("ix_pools_agreement_id"), "pools", ["agreement_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_pools_agreement_id"), table_name="pools")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a column that carries a foreign key; copy the table.
        with op.batch_alter_table("pools") as batch_op:
            batch_op.drop_column("agreement_id")
    else:
        op.drop_constraint(op.f("fk_pools_agreement_id_agreements"), "pools", type_="foreignkey")
        op.drop_column("pools", "agreement_id")
    op.drop_index(op.f("ix_numbers_card_token"), table_name="numbers")
    op.drop_column("numbers", "card_token")
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_refresh_tokens_owner_id"), table_name="refresh_tokens")
    op.drop_index(op.f("ix_refresh_tokens_operator_id"), table_name="refresh_tokens")
    op.drop_index(op.f("ix_refresh_tokens_family"), table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_table("operators")
    op.drop_table("agreements")
