"""Tests of running the bot: `digest-bot run`'s start and modes, the scheduler's weeks, the
DIGEST_ARCHIVE_GIT checkout.

The shared fixtures (stores, archives, `fake_slack`, `posted_week`) are in tests/conftest.py;
none is this folder's alone.
"""
