"""Replicas as real processes: one `digest-bot` command per replica on a shared store and one
fake Slack, its outcome, and the SIGKILL of whichever replica holds a lease mid-work.

Used by the scenario tests in tests/e2e (`post`, `recap` and `dms` replicas alike).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import Engine, select

from bot.store.leases import leases
from tests.support.fake_slack import BOT_TOKEN, FakeSlack

PROJECT = Path(__file__).resolve().parents[2]


def replica(
    db_url: str, archive: Path, fake: FakeSlack, command: str, *args: str, **env: str
) -> subprocess.Popen[str]:
    """`digest-bot <command> <args> --json --interval 0.01` for DIGEST_CHANNEL C0SD on the shared store
    (the rest of the environment's DIGEST_/SLACK_ settings left out; `env` adds to them)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SLACK_"))}
    clean.update(
        DIGEST_DB_URL=db_url,
        DIGEST_ARCHIVE=str(archive),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=fake.api_url,
        DIGEST_CHANNEL="C0SD",
        PYTHONPATH=str(PROJECT),
        **env,
    )
    argv = [sys.executable, "-m", "bot", "--env-file", os.devnull, command, *args, "--json", "--interval", "0.01"]
    return subprocess.Popen(argv, env=clean, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def outcome(
    process: subprocess.Popen[str], *, reports_on: Collection[int] = (0,)
) -> tuple[int, dict[str, Any] | None, str]:
    """(exit code, JSON report or None, stderr): the report is read for the exit codes in
    `reports_on` (an exit 0 must print one; another listed code may print nothing)."""
    try:
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    code = process.returncode
    reported = code in reports_on and (code == 0 or bool(out.strip()))
    return code, (json.loads(out) if reported else None), err


def kill_lease_holder(store: Engine, key: str, ours: Collection[int], killed: list[int]) -> NoReturn:
    """SIGKILL the replica holding `key`'s lease (one of `ours`), noted in `killed`, and fail the
    Slack call it was making: it died before hearing Slack's answer."""
    with store.connect() as conn:
        holder = conn.execute(select(leases.c.holder).where(leases.c.lease_key == key)).scalar()
    pid = int(str(holder).split(":")[1])
    assert pid in ours, holder
    os.kill(pid, signal.SIGKILL)
    killed.append(pid)
    raise RuntimeError("the replica died before hearing Slack's answer")
