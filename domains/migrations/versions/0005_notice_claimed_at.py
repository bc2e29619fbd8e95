"""when a notice was claimed for sending

A deliverer that dies between claiming a notice and recording the result leaves it `sending`;
the claim time lets a later sweep put such a notice back in the queue once its lease is over.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Undo this migration."""
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
