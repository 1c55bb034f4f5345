"""Tests of bot.search: the query language, ranking, the index on disk, translations, the semantic
rerank, and quality on the real archive (the query sets are tests/search_queries.yaml and
tests/topical_queries.yaml, which bench/ reads too).

The shared fixtures (stores, archives, `fake_slack`, `posted_week`) are in tests/conftest.py;
none is this folder's alone.
"""
