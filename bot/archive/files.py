"""Read an archive's files the careful way: regular files inside the root, of bounded size.

An archive folder is outside input like any other. A FIFO named like a digest
would block a plain `read_bytes()` forever (while the indexer holds the
store's write lock), a symlink to `/dev/zero` would fill memory, a symlink to
`/etc/passwd` would be indexed (and could be posted) as a digest. Every read
of an archive file goes through `read_file`, and every look at one through
`check_file`: the path is resolved and must stay inside the archive root, the
target must be a regular file no larger than the limit, and it is opened
without blocking and without following a link swapped in meanwhile. What is
refused raises `Refused`, whose reason says what the file is and why it was
left alone ("2.1 GB, over the 20 MB limit").
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

#: The largest archive file read. A real week's digest is well under 1 MB
#: (about 1.2 kB per paper); 20 MB holds more than 10,000 papers.
MAX_FILE_BYTES = 20_000_000
_CHUNK = 1 << 20

_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}


class Refused(Exception):
    """An archive file that is not read, and why (a sentence for the problem report)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def size_text(size: int) -> str:
    """`2.1 GB`, `20 MB`, `512 kB`, `10 bytes` (decimal units, as `ls -h --si`)."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}".replace(".0 ", " ")
    return f"{size} bytes"


def check_file(path: Path, root: Path, *, limit: int = MAX_FILE_BYTES) -> os.stat_result:
    """The file's stat if it may be read: inside `root` (resolved), regular, at most `limit`."""
    target = _inside(path, root)
    try:
        st = os.stat(target)
    except OSError as err:
        raise Refused(f"unreadable file: {err.strerror or err}") from None
    _check_stat(st, limit)
    return st


def read_file(path: Path, root: Path, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes, read without blocking; `Refused` when it may not be read."""
    target = _inside(path, root)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise Refused("became a symbolic link while being read; not read") from None
        raise Refused(f"unreadable file: {err.strerror or err}") from None
    try:
        st = os.fstat(fd)  # what was opened, not what the path names now
        _check_stat(st, limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - size))
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise Refused(f"grew past the {size_text(limit)} limit while being read; not read")
            chunks.append(chunk)
    except BlockingIOError:
        raise Refused("would block when read; not read") from None
    except OSError as err:
        raise Refused(f"unreadable file: {err.strerror or err}") from None
    finally:
        os.close(fd)


def _inside(path: Path, root: Path) -> Path:
    """`path` with every link resolved, refused unless it stays inside `root`."""
    try:
        target = path.resolve(strict=True)
    except FileNotFoundError:
        if path.is_symlink():
            raise Refused(f"broken symbolic link (to {os.readlink(path)}); not read") from None
        raise Refused("unreadable file: No such file or directory") from None
    except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop on older Pythons
        raise Refused(f"unreadable file: {getattr(err, 'strerror', None) or err}") from None
    base = root.resolve()
    if not target.is_relative_to(base):
        raise Refused(f"symbolic link to {target}, outside the archive; not read")
    return target


def _check_stat(st: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
        raise Refused(f"{kind}, not a regular file; not read")
    if st.st_size > limit:
        raise Refused(f"{size_text(st.st_size)}, over the {size_text(limit)} limit; not read")
