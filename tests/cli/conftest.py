"""Tests of the `digest-bot` commands that read the archive, and of progress lines.

The shared fixtures (stores, archives, `fake_slack`, `posted_week`) are in tests/conftest.py;
none is this folder's alone.
"""
