"""Tests of thread replies and reactions as votes (bot.discussion, bot.votes), from the example
archive's newest week as posted (`posted_week`, tests/conftest.py).

The shared fixtures (stores, archives, `fake_slack`, `posted_week`) are in tests/conftest.py;
none is this folder's alone.
"""
