"""Tests of bot.slack: the Bolt app over signed HTTP (acknowledgements, hostile payloads, unfurls,
the Home tab under load, channel names), against the fake Slack and a running bot
(tests/support/bot_server.py).

The shared fixtures (stores, archives, `fake_slack`, `posted_week`) are in tests/conftest.py;
none is this folder's alone.
"""
