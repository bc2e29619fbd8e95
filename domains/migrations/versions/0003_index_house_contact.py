"""index the house-contact flag

Opening a store looks up the house contact; on millions of contacts that must not be a scan.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 00:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_is_house"), ["is_house"], unique=False)


def downgrade() -> None:
    """Undo this migration."""
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_is_house"))
