"""Alembic migrations of the store, shipped inside the package."""

#: The newest revision in versions/. Opening an up-to-date store compares against this and so
#: never imports Alembic; tests/domains/test_migrations.py checks it is Alembic's head.
HEAD = "0016"
