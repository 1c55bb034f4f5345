"""Search over the archive: query language, inverted index, rapidfuzz rerank.

Nothing here knows about Slack, the scheduler or the CLI; they call in.
"""

from bot.search.engine import SearchEngine
from bot.search.live import LiveSearch
from bot.search.query import Query, parse_query
from bot.search.results import Hit, SearchResponse

__all__ = ["Hit", "LiveSearch", "Query", "SearchEngine", "SearchResponse", "parse_query"]
