"""digest-bot: weekly arXiv paper digests in Slack, one thread per paper."""

__version__ = "0.1.0"
