"""Initial schema: customers, configurations, revisions, content versions and their files.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_content_blobs")),
    )
    op.create_table(
        "content_versions",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("root", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_content_versions")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("name", name=op.f("uq_customers_name")),
    )
    op.create_table(
        "configurations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latest_revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"],
                                name=op.f("fk_configurations_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_configurations")),
    )
    op.create_index(op.f("ix_configurations_customer_id"), "configurations", ["customer_id"])
    op.create_table(
        "content_files",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["sha256"], ["content_blobs.sha256"],
                                name=op.f("fk_content_files_sha256_content_blobs")),
        sa.ForeignKeyConstraint(["version"], ["content_versions.version"],
                                name=op.f("fk_content_files_version_content_versions")),
        sa.PrimaryKeyConstraint("version", "path", name=op.f("pk_content_files")),
    )
    op.create_index(op.f("ix_content_files_sha256"), "content_files", ["sha256"])
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("configuration_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("adjustments", sa.JSON(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("content_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["configuration_id"], ["configurations.id"],
                                name=op.f("fk_revisions_configuration_id_configurations")),
        sa.ForeignKeyConstraint(["content_version"], ["content_versions.version"],
                                name=op.f("fk_revisions_content_version_content_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revisions")),
        sa.UniqueConstraint("configuration_id", "number",
                            name=op.f("uq_revisions_configuration_id_number")),
    )
    op.create_index(op.f("ix_revisions_content_version"), "revisions", ["content_version"])


def downgrade() -> None:
    op.drop_index(op.f("ix_revisions_content_version"), table_name="revisions")
    op.drop_table("revisions")
    op.drop_index(op.f("ix_content_files_sha256"), table_name="content_files")
    op.drop_table("content_files")
    op.drop_index(op.f("ix_configurations_customer_id"), table_name="configurations")
    op.drop_table("configurations")
    op.drop_table("customers")
    op.drop_table("content_versions")
    op.drop_table("content_blobs")
