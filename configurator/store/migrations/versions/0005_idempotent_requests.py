"""Idempotency keys: the answer a keyed POST got, for a retry with the same key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotent_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"],
                                name=op.f("fk_idempotent_requests_api_key_id_api_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotent_requests")),
        sa.UniqueConstraint("api_key_id", "key",
                            name=op.f("uq_idempotent_requests_api_key_id_key")),
    )
    op.create_index(op.f("ix_idempotent_requests_created_at"), "idempotent_requests",
                    ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotent_requests_created_at"), table_name="idempotent_requests")
    op.drop_table("idempotent_requests")
