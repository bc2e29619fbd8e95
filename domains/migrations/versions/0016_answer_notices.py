"""a notice on channel interlink_answers when an answer rendered ahead stops being valid

Public server processes keep answers in memory (publishers/answer_notices.py). On PostgreSQL
the database tells them which to drop: when a published answer that was valid is marked stale
or deleted (by the triggers of 0004 and 0013, in the change's own transaction), this trigger
sends the domain's name on the channel `interlink_answers`; PostgreSQL delivers it to every
listening session once the change commits, and not at all if it rolls back. SQLite has no
such thing, and needs none: its servers share the store file and read `PRAGMA data_version`.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 02:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "interlink_answers"
POSTGRES_FUNCTION = f"""
    CREATE FUNCTION published_answer_notify() RETURNS trigger AS $$
    BEGIN
        PERFORM pg_notify('{CHANNEL}', OLD.name);
        RETURN NULL;
    END $$ LANGUAGE plpgsql"""
#: Only an answer that was valid (it had a render key) can be held by a server.
POSTGRES_TRIGGER = (
    "CREATE TRIGGER published_answer_notify AFTER UPDATE OR DELETE ON published_answer "
    "FOR EACH ROW WHEN (OLD.render_key <> '') EXECUTE FUNCTION published_answer_notify()"
)


def upgrade() -> None:
    """Apply this migration."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)


def downgrade() -> None:
    """Revert this migration."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS published_answer_notify ON published_answer")
        op.execute("DROP FUNCTION IF EXISTS published_answer_notify()")
