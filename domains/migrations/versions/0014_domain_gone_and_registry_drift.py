"""domains gone to another registrar, and the registry drift check's last run

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "drift_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("tld", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=True),
        sa.Column("domains_checked", sa.Integer(), nullable=False),
        sa.Column("domains_differing", sa.Integer(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "drift_difference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("domain", sqlmodel.sql.sqltypes.AutoString(length=253), nullable=False),
        sa.Column("section", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at_registry", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("in_store", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["drift_run.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("drift_difference", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drift_difference_run_id"), ["run_id"], unique=False)
    # Plain ALTER TABLE (not a batch copy): SQLite keeps the domain table's triggers (0004).
    op.add_column("domain", sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Undo this migration."""
    op.drop_column("domain", "gone_at")
    with op.batch_alter_table("drift_difference", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_difference_run_id"))
    op.drop_table("drift_difference")
    op.drop_table("drift_run")
