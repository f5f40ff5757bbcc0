"""Sign-in failures counted per account and per client address (the sign-in throttle).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_failures")),
    )
    op.create_index(op.f("ix_sign_in_failures_window_ends_at"), "sign_in_failures",
                    ["window_ends_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_failures_window_ends_at"), table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
