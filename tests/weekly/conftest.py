"""Tests of the weekly features: the recap, the trends numbers and chart, and one count of papers
per week everywhere.

The shared fixtures (stores, archives, `fake_slack`, `posted_week`) are in tests/conftest.py;
none is this folder's alone.
"""
