"""published answers, and the triggers that forget them when their data changes

The public WHOIS and RDAP servers answer from rows rendered ahead by the publisher. A row must
never outlive the data it was rendered from, whoever writes: so the database itself deletes a
domain's row in the same transaction as any change to the domain, to its role assignments, or
to a contact it uses. On PostgreSQL the triggers first take the domain row's lock, so a
publisher that read the old data (and holds FOR SHARE locks on it) commits its row before the
delete runs, and the delete, a new statement with a new snapshot, sees it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: A stale answer keeps its row (so the publisher finds it by the index on render_key) but
#: loses its bytes and its key: no lookup ever asks for the empty key.
_STALE = "UPDATE published_answer SET render_key = '', whois = {empty}, rdap = {empty}"
_CONTACT_DOMAINS = (
    "SELECT d.name FROM domain_contact dc JOIN domain d ON d.id = dc.domain_id "
    "WHERE dc.contact_id = {ref}.id"
)

_SQLITE_STALE = _STALE.format(empty="x''")
#: SQLite trigger: (event, table, the statement it runs).
_SQLITE = {
    "domain_update": (
        "UPDATE",
        "domain",
        f"{_SQLITE_STALE} WHERE name IN (OLD.name, NEW.name)",
    ),
    "domain_delete": ("DELETE", "domain", "DELETE FROM published_answer WHERE name = OLD.name"),
    "role_insert": (
        "INSERT",
        "domain_contact",
        f"{_SQLITE_STALE} WHERE name = (SELECT name FROM domain WHERE id = NEW.domain_id)",
    ),
    "role_update": (
        "UPDATE",
        "domain_contact",
        f"{_SQLITE_STALE} WHERE name IN "
        "(SELECT name FROM domain WHERE id IN (OLD.domain_id, NEW.domain_id))",
    ),
    "role_delete": (
        "DELETE",
        "domain_contact",
        f"{_SQLITE_STALE} WHERE name = (SELECT name FROM domain WHERE id = OLD.domain_id)",
    ),
    "contact_update": (
        "UPDATE",
        "contact",
        f"{_SQLITE_STALE} WHERE name IN ({_CONTACT_DOMAINS.format(ref='NEW')})",
    ),
}
SQLITE_TRIGGERS = {
    f"published_answer_{name}": (
        f"CREATE TRIGGER published_answer_{name} AFTER {event} ON {table} BEGIN {statement}; END"
    )
    for name, (event, table, statement) in _SQLITE.items()
}

POSTGRES_FUNCTIONS = {
    "published_answer_forget_domain": f"""
        CREATE FUNCTION published_answer_forget_domain() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                DELETE FROM published_answer WHERE name = OLD.name;
            ELSE
                {_STALE.format(empty="''::bytea")} WHERE name IN (OLD.name, NEW.name);
            END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql""",
    "published_answer_forget_role": f"""
        CREATE FUNCTION published_answer_forget_role() RETURNS trigger AS $$
        BEGIN
            -- Each lock waits for a publisher holding the domain FOR SHARE (module text).
            IF TG_OP <> 'INSERT' THEN
                PERFORM 1 FROM domain WHERE id = OLD.domain_id FOR NO KEY UPDATE;
                {_STALE.format(empty="''::bytea")}
                WHERE name = (SELECT name FROM domain WHERE id = OLD.domain_id);
            END IF;
            IF TG_OP <> 'DELETE' THEN
                PERFORM 1 FROM domain WHERE id = NEW.domain_id FOR NO KEY UPDATE;
                {_STALE.format(empty="''::bytea")}
                WHERE name = (SELECT name FROM domain WHERE id = NEW.domain_id);
            END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql""",
    "published_answer_forget_contact": f"""
        CREATE FUNCTION published_answer_forget_contact() RETURNS trigger AS $$
        BEGIN
            {_STALE.format(empty="''::bytea")}
            WHERE name IN ({_CONTACT_DOMAINS.format(ref="NEW")});
            RETURN NULL;
        END $$ LANGUAGE plpgsql""",
}

POSTGRES_TRIGGERS = {
    "published_answer_domain": (
        "CREATE TRIGGER published_answer_domain AFTER UPDATE OR DELETE ON domain "
        "FOR EACH ROW EXECUTE FUNCTION published_answer_forget_domain()"
    ),
    "published_answer_role": (
        "CREATE TRIGGER published_answer_role AFTER INSERT OR UPDATE OR DELETE ON domain_contact "
        "FOR EACH ROW EXECUTE FUNCTION published_answer_forget_role()"
    ),
    "published_answer_contact": (
        "CREATE TRIGGER published_answer_contact AFTER UPDATE ON contact "
        "FOR EACH ROW EXECUTE FUNCTION published_answer_forget_contact()"
    ),
}

_TRIGGER_TABLES = {
    "published_answer_domain": "domain",
    "published_answer_role": "domain_contact",
    "published_answer_contact": "contact",
}


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "published_answer",
        sa.Column("name", sa.String().with_variant(sa.String(collation="C"), "postgresql")),
        sa.Column("render_key", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("whois", sa.LargeBinary(), nullable=False),
        sa.Column("rdap", sa.LargeBinary(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("published_answer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_published_answer_render_key"), ["render_key"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        for sql in POSTGRES_FUNCTIONS.values():
            op.execute(sql)
        for sql in POSTGRES_TRIGGERS.values():
            op.execute(sql)
    else:
        for sql in SQLITE_TRIGGERS.values():
            op.execute(sql)


def downgrade() -> None:
    """Undo this migration."""
    if op.get_bind().dialect.name == "postgresql":
        for name, table in _TRIGGER_TABLES.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for name in POSTGRES_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("published_answer")
