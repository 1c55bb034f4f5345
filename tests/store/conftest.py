"""Tests of bot.store: the incremental sync, migrations, health, and several processes on one store
(SQLite and PostgreSQL: `@pytest.mark.backends`, tests/conftest.py).

The shared fixtures (stores, archives, `fake_slack`, `posted_week`) are in tests/conftest.py;
none is this folder's alone.
"""
