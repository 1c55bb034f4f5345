"""The store: SQLAlchemy tables, the incremental archive indexer and read access."""

from bot.store import migrate
from bot.store.catalog import Catalog, TopicStats, WeekStats
from bot.store.database import DEFAULT_DB_URL, open_engine
from bot.store.errors import StoreError
from bot.store.leases import leases as _leases  # noqa: F401 - defines the lease table on the metadata
from bot.store.marks import digest_marks as _digest_marks  # noqa: F401 - defines the digest marks
from bot.store.personal import reactions as _reactions  # noqa: F401 - defines the personal tables
from bot.store.posts import posts as _posts  # noqa: F401 - defines the post table on the metadata
from bot.store.replies import thread_replies as _thread_replies  # noqa: F401 - defines the replies table
from bot.store.runs import runs as _runs  # noqa: F401 - defines the runs table on the metadata
from bot.store.sync import ArchiveMismatch, ArchiveNotFound, SyncReport, sync_archive

__all__ = [
    "DEFAULT_DB_URL",
    "ArchiveMismatch",
    "ArchiveNotFound",
    "Catalog",
    "StoreError",
    "SyncReport",
    "TopicStats",
    "WeekStats",
    "migrate",
    "open_engine",
    "sync_archive",
]
