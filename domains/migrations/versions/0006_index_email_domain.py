"""index contacts by the domain of their e-mail address

Staff search `@example.com` for every contact at a domain. The index is on an expression of the
existing search key (the part after the @), so every writer, the import included, keeps it
without a new column; it also holds the full key and the id, the order a search reads a page in.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The same expression as domains.models.email_domain, in each database's spelling.
_DOMAIN_PART = {
    "sqlite": "substr(email_key, instr(email_key, '@') + 1)",
    "postgresql": "substr(email_key, strpos(email_key, '@') + 1)",
}


def upgrade() -> None:
    """Apply this migration."""
    dialect = op.get_bind().dialect.name
    op.create_index(
        "ix_contact_email_domain",
        "contact",
        [sa.text(_DOMAIN_PART[dialect]), "email_key", "id"],
        unique=False,
    )


def downgrade() -> None:
    """Undo this migration."""
    op.drop_index("ix_contact_email_domain", table_name="contact")
