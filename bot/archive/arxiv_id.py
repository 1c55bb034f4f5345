"""arXiv identifiers: find them in URLs and user text, without the version."""

from __future__ import annotations

import re

# New-style ids (YYMM.NNNN or YYMM.NNNNN) and old-style ones (math/0601001, hep-th/9901001v2).
_ID = r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<version>\d+))?"

_URL_RE = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/" + _ID + r"(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)
_BARE_RE = re.compile(r"^(?:arxiv:\s*)?" + _ID + r"$", re.IGNORECASE)


def arxiv_id_from_url(url: str) -> str | None:
    """`http://arxiv.org/abs/2408.00707v2` -> `2408.00707`; None if not an arXiv URL."""
    m = _URL_RE.match(url.strip())
    return m.group("id") if m else None


def parse_arxiv_id(text: str) -> str | None:
    """An id as a person types it: bare, with a version, `arXiv:`-prefixed, or a URL."""
    text = text.strip().strip("<>")
    m = _BARE_RE.match(text)
    if m:
        return m.group("id")
    return arxiv_id_from_url(text)
