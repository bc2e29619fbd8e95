"""DS records: DNSSEC as data, beside the signed flag

A domain's DS records (key tag, algorithm, digest type, digest) get a table of their own. The
`domain.dnssec` flag keeps its meaning and its values: a domain flagged signed stays signed (its
DS data is simply not on file yet); from now on the store keeps the flag in step with the records
(entering DS data makes a domain signed, removing all of it makes it unsigned).

A change to a domain's DS records changes its public answers (RDAP's secureDNS.dsData), so, like
migration 0004's triggers for domains, roles and contacts, the database marks the domain's
published answer stale in the same transaction as any insert, update or delete of its DS records
(on PostgreSQL after taking the domain row's lock, as 0004's role trigger does).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STALE = "UPDATE published_answer SET render_key = '', whois = {empty}, rdap = {empty}"
_SQLITE_STALE = _STALE.format(empty="x''")
_PG_STALE = _STALE.format(empty="''::bytea")
#: SQLite trigger: (event, the row whose domain's answer goes stale).
_SQLITE = {
    "ds_insert": ("INSERT", "NEW.domain_id"),
    "ds_update": ("UPDATE", "NEW.domain_id"),
    "ds_update_old": ("UPDATE", "OLD.domain_id"),
    "ds_delete": ("DELETE", "OLD.domain_id"),
}
SQLITE_TRIGGERS = {
    f"published_answer_{name}": (
        f"CREATE TRIGGER published_answer_{name} AFTER {event} ON ds_record BEGIN "
        f"{_SQLITE_STALE} WHERE name = (SELECT name FROM domain WHERE id = {ref}); END"
    )
    for name, (event, ref) in _SQLITE.items()
}
POSTGRES_FUNCTION = f"""
    CREATE FUNCTION published_answer_forget_ds() RETURNS trigger AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            PERFORM 1 FROM domain WHERE id = OLD.domain_id FOR NO KEY UPDATE;
            {_PG_STALE} WHERE name = (SELECT name FROM domain WHERE id = OLD.domain_id);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM 1 FROM domain WHERE id = NEW.domain_id FOR NO KEY UPDATE;
            {_PG_STALE} WHERE name = (SELECT name FROM domain WHERE id = NEW.domain_id);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql"""
POSTGRES_TRIGGER = (
    "CREATE TRIGGER published_answer_ds AFTER INSERT OR UPDATE OR DELETE ON ds_record "
    "FOR EACH ROW EXECUTE FUNCTION published_answer_forget_ds()"
)


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "ds_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("key_tag", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.Integer(), nullable=False),
        sa.Column("digest_type", sa.Integer(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.ForeignKeyConstraint(["domain_id"], ["domain.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "domain_id", "key_tag", "algorithm", "digest_type", "digest", name="uq_ds_record"
        ),
    )
    with op.batch_alter_table("ds_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ds_record_domain_id"), ["domain_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        for sql in SQLITE_TRIGGERS.values():
            op.execute(sql)


def downgrade() -> None:
    """Undo this migration (the signed flags stay as they are)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS published_answer_ds ON ds_record")
        op.execute("DROP FUNCTION IF EXISTS published_answer_forget_ds()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("ds_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ds_record_domain_id"))
    op.drop_table("ds_record")
