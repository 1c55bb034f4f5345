"""Run rows: one per publishing run (what it posted, adopted, updated, its errors), for `status`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Column, Engine, Index, Integer, String, Table, insert, select, update

from bot.store.schema import UtcDateTime, metadata, utc, utc_or_none

#: One row per publishing run, for `digest-bot status`.
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_by", String(16), nullable=False),
    Column("holder", String(200), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("posted", Integer, nullable=False, default=0),
    Column("adopted", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("errors", JSON, nullable=False),
    Index("ix_runs_started_at", "started_at"),
)


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    trigger: str
    holder: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    posted: int
    adopted: int
    updated: int
    errors: list[dict[str, Any]]


def start_run(engine: Engine, *, trigger: str, holder: str, now: dt.datetime) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(runs)
                .values(
                    started_by=trigger,
                    holder=holder,
                    started_at=utc(now),
                    posted=0,
                    adopted=0,
                    updated=0,
                    errors=[],
                )
                .returning(runs.c.id)
            ).scalar_one()
        )


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    now: dt.datetime,
    posted: int,
    adopted: int,
    updated: int,
    errors: Sequence[Mapping[str, Any]],
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(
                finished_at=utc(now),
                posted=posted,
                adopted=adopted,
                updated=updated,
                errors=list(errors),
            )
        )


def recent_runs(engine: Engine, limit: int = 5) -> list[RunRow]:
    """The latest runs, newest first (an unfinished one was interrupted or is running)."""
    query = select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [
            RunRow(
                r.id,
                r.started_by,
                r.holder,
                utc(r.started_at),
                utc_or_none(r.finished_at),
                r.posted,
                r.adopted,
                r.updated,
                list(r.errors),
            )
            for r in conn.execute(query)
        ]


__all__ = ["RunRow", "runs"]
