"""What went wrong with the store, in one sentence: below both `database` and `health`.

Opening the store (`database`) and watching it (`health`) both turn a driver's
error into advice; kept here, neither has to import the other to do so.
"""

from __future__ import annotations


class StoreError(RuntimeError):
    """The store cannot be opened; the message says why and what to change."""


def first_line(err: BaseException) -> str:
    """The driver's own message, first line only (the rest is SQL and parameters)."""
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def known_problem(err: BaseException, where: str = "the store") -> str | None:
    """`describe` for the failures it knows (read-only, corrupt, locked, disk), else None."""
    raw = first_line(err)
    lower = raw.lower()
    if "readonly" in lower or "read-only" in lower or "read only" in lower:
        return f"{where} is read-only ({raw}): check the file's and its folder's permissions, and that the disk is mounted read-write"
    if "not a database" in lower or "malformed" in lower or "corrupt" in lower:
        return f"{where} is corrupt ({raw}): restore it from a backup, or move it aside and let the bot build a new one (posts are found again in Slack)"
    if "locked" in lower or "busy" in lower:
        return f"{where} is locked by another process ({raw}): wait for it (an `index`, another bot) to finish"
    if "disk" in lower and ("full" in lower or "i/o" in lower) or "no space" in lower:
        return f"{where} cannot be written ({raw}): the disk is full or failing"
    if "unable to open" in lower:
        return f"{where} cannot be opened ({raw}): check that its folder exists and is writable"
    return None


def describe(err: BaseException, where: str = "the store") -> str:
    """One sentence about a store failure: what is wrong and what to do."""
    if isinstance(err, StoreError):
        return str(err)
    return known_problem(err, where) or f"{where} failed: {first_line(err)}"
