"""Scenario tests: the real `digest-bot` in subprocesses (replicas on one PostgreSQL store, SIGKILL
mid-week, a newcomer's first steps, the README walked) against the fake Slack over HTTP.

The shared fixtures (stores, archives, `fake_slack`, `posted_week`) are in tests/conftest.py;
none is this folder's alone.
"""
