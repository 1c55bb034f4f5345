"""Tests of bot.archive: parsing digest files, hostile and broken archives, round trips, the real archive.

The shared fixtures (stores, archives, `fake_slack`, `posted_week`) are in tests/conftest.py;
none is this folder's alone.
"""
