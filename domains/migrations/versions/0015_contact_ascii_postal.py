"""the stored ASCII form of a contact's postal data (JSON text, domains.models.JSONText)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ascii_postal", sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("ascii_postal")
