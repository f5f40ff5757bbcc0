"""Deal workflow: approvals bound to people, revision states, who made what.

- users.approver_roles: the approver roles a user holds
- api_keys.user_id: the user a key acts for
- revisions: author_id, via_api_key, state (+ when and by whom it changed, valid_until)
- approvals: decision (approved / rejected), user_id, via_api_key, carried_from
- proposals: via_api_key, customer_name (the revision's customer, kept with the PDF)

Existing revisions get the state their status and approvals give (the latest of each
configuration, approved when every role its document requires approved it; every earlier one
is superseded); existing proposals keep the customer name they were rendered with.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""
import json

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # JSON has no server default PostgreSQL can compare: fill the column, then require it
    op.add_column("users", sa.Column("approver_roles", sa.JSON(), nullable=True))
    op.execute("UPDATE users SET approver_roles = '[]'")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("approver_roles", existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_api_keys_user_id_users"), "users", ["user_id"], ["id"])
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("author_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("via_api_key", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("state", sa.String(length=32), nullable=False,
                                   server_default="draft"))
        batch.add_column(sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("state_changed_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f("fk_revisions_author_id_users"), "users", ["author_id"],
                                 ["id"])
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("decision", sa.String(length=16), nullable=False,
                                   server_default="approved"))
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("via_api_key", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("carried_from", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_approvals_user_id_users"), "users", ["user_id"], ["id"])
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("via_api_key", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("customer_name", sa.String(length=300), nullable=True))

    # States of the revisions stored before: the latest of each configuration by its status and
    # approvals, every earlier one superseded.
    op.execute("""
        UPDATE revisions SET state = 'superseded'
        WHERE number < (SELECT latest_revision FROM configurations
                        WHERE configurations.id = revisions.configuration_id)""")
    op.execute("""
        UPDATE revisions SET state = CASE status
            WHEN 'ok' THEN 'approved'
            WHEN 'conflict' THEN 'draft'
            ELSE 'pending_approval' END
        WHERE state = 'draft'""")
    connection = op.get_bind()
    pending = connection.execute(sa.text(
        "SELECT id, document FROM revisions WHERE state = 'pending_approval'")).all()
    for revision_id, document in pending:
        if isinstance(document, str):
            document = json.loads(document)
        required = {a["role"] for a in (document or {}).get("approvals", [])}
        given = {row[0] for row in connection.execute(sa.text(
            "SELECT role FROM approvals WHERE revision_id = :id"), {"id": revision_id})}
        if required <= given:
            connection.execute(sa.text("UPDATE revisions SET state = 'approved' WHERE id = :id"),
                               {"id": revision_id})
    op.execute("""
        UPDATE proposals SET customer_name = (
            SELECT customers.name FROM revisions
            JOIN configurations ON configurations.id = revisions.configuration_id
            JOIN customers ON customers.id = configurations.customer_id
            WHERE revisions.id = proposals.revision_id)""")


def downgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("customer_name")
        batch.drop_column("via_api_key")
    with op.batch_alter_table("approvals") as batch:
        batch.drop_constraint(op.f("fk_approvals_user_id_users"), type_="foreignkey")
        batch.drop_column("carried_from")
        batch.drop_column("via_api_key")
        batch.drop_column("user_id")
        batch.drop_column("decision")
    with op.batch_alter_table("revisions") as batch:
        batch.drop_constraint(op.f("fk_revisions_author_id_users"), type_="foreignkey")
        batch.drop_column("valid_until")
        batch.drop_column("state_changed_by")
        batch.drop_column("state_changed_at")
        batch.drop_column("state")
        batch.drop_column("via_api_key")
        batch.drop_column("author_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint(op.f("fk_api_keys_user_id_users"), type_="foreignkey")
        batch.drop_column("user_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("approver_roles")
