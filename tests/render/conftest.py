"""Tests of bot.render: every message within Slack's limits and valid Block Kit (`schema_problems`,
tests/conftest.py), mrkdwn escaping, the Home tab, BibTeX.

The shared fixtures (stores, archives, `fake_slack`, `posted_week`) are in tests/conftest.py;
none is this folder's alone.
"""
