"""The database's migrations (Alembic), run by `bot.adapters.store.migrate`: `env.py`, the revision
template, and `versions/`, one file per revision, oldest first (0001 is the baseline: the schema of
the versions before migrations)."""
