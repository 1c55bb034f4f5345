"""Tests of bot.publisher: due digests posted exactly once through crashes, rate limits and
restarts, against the fake Slack (`fake`, tests/conftest.py).

The shared fixtures (stores, archives, `fake_slack`, `posted_week`) are in tests/conftest.py;
none is this folder's alone.
"""
