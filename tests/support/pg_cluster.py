"""A throwaway PostgreSQL cluster for the tests and benchmarks (standard library only).

    python3 tests/support/pg_cluster.py bindir      # where initdb is, or exit 1
    python3 tests/support/pg_cluster.py start DIR   # prints the admin URL
    python3 tests/support/pg_cluster.py stop DIR

`.ci/run` uses the command line before any virtualenv exists; the benchmark
uses `TemporaryCluster`. The server binaries come from Debian's `postgresql`
package (`/usr/lib/postgresql/<version>/bin`, newest first) or from PATH. The
cluster lives in DIR and listens on a unix socket in DIR only: no TCP port to
collide with another server. Run as root, it runs as the `postgres` user
(initdb refuses root). Durability is off (fsync, synchronous commit, full page
writes): a test cluster need not survive a power cut, and is much faster so.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

SERVER_OPTIONS = (
    "-c listen_addresses='' -c fsync=off -c synchronous_commit=off "
    "-c full_page_writes=off -c max_connections=200"
)


def bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        reverse=True,
    )
    if debian:
        return debian[0].parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _as_server_user(args: list[str]) -> list[str]:
    """Root runs the server as `postgres`; anyone else runs it as themselves."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


def start(folder: Path) -> str:
    """Create and start a cluster in `folder`; the superuser URL (SQLAlchemy, psycopg 3)."""
    binaries = bindir()
    if binaries is None:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
    run = [
        str(binaries / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
    ]
    subprocess.run(_as_server_user(run), check=True, stdout=subprocess.DEVNULL)
    start_server = [
        str(binaries / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(folder / "server.log"),
        "-w",
        "-t",
        "60",
        "-o",
        f"-k {folder} {SERVER_OPTIONS}",
        "start",
    ]
    try:
        subprocess.run(_as_server_user(start_server), check=True, stdout=subprocess.DEVNULL)
    except subprocess.CalledProcessError:
        log = folder / "server.log"
        sys.stderr.write(log.read_text(errors="replace") if log.exists() else "no server log\n")
        raise
    return f"postgresql+psycopg://postgres@/postgres?host={folder}"


def stop(folder: Path) -> None:
    """Stop the cluster in `folder` (at once: nothing in it is worth a clean shutdown)."""
    binaries = bindir()
    data = folder / "data"
    if binaries is not None and (data / "postmaster.pid").exists():
        stop_server = [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_server_user(stop_server), check=False, stdout=subprocess.DEVNULL)


class TemporaryCluster:
    """`with TemporaryCluster() as url:` a fresh cluster, stopped and deleted afterwards."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="digest-pg-"))

    def __enter__(self) -> str:
        try:
            return start(self.folder)
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stop(self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["bindir"]:
        found = bindir()
        if found is None:
            return 1
        print(found)
        return 0
    if len(argv) == 2 and argv[0] in ("start", "stop"):
        folder = Path(argv[1])
        if argv[0] == "start":
            print(start(folder))
        else:
            stop(folder)
        return 0
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
