"""when a notice is tried next, and who holds its claim

A transient error (the database, the network, an SMTP 4xx reply) leaves a notice queued for a
later pass instead of failing it: `next_attempt_at` says when, `first_error_at` when the run of
errors began (after `mail.notice_give_up_hours` the notice is failed), and `claimed_by` which
pass holds a `sending` notice. Notices queued before this revision are due at once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_error_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_notice_due", ["status", "next_attempt_at", "id"], unique=False)
    op.execute("UPDATE notice SET next_attempt_at = created_at WHERE status = 'queued'")


def downgrade() -> None:
    """Undo this migration."""
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_due")
        batch_op.drop_column("first_error_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("claimed_by")
