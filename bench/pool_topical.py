#!/usr/bin/env python3
"""Pool the top 10 of several systems for the topical questions, for judging.

    python bench/pool_topical.py --archive ../shared/archive --out /tmp/judge \
        [--systems engine,bm25,fts5,tantivy] [--runs-from FILE.json ...] [--queries FILE]

Writes, into --out (outside the project: it holds the archive's text):
  runs.json         {system: {question id: [arXiv ids, best first]}}
  packets/<id>.md   one file per question with every pooled paper that
                    tests/topical_queries.yaml does not judge yet, in arXiv-id
                    order, with its own text (titles, summary, categories) and
                    nothing about which system found it: what a judge reads.

`--runs-from` adds runs saved earlier (e.g. by an older version of the engine,
run from its own checkout with `--systems engine`), so one pool can hold the
engine before and after a change. See the method at the top of
tests/topical_queries.yaml.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(HERE))

from baselines import BASELINES

from bot.model import Paper

QUERIES = PROJECT / "tests" / "topical_queries.yaml"
DEPTH = 10


def load_papers(archive: Path) -> tuple[list[Paper], list]:
    from bot.store import Catalog, open_engine, sync_archive

    work = Path(tempfile.mkdtemp(prefix="pool-"))
    engine = open_engine(f"sqlite:///{work / 'store.sqlite3'}")
    sync_archive(engine, archive)
    catalog = Catalog(engine)
    return list(catalog.iter_papers()), [s.topic for s in catalog.topics()]


def engine_runner(papers: list[Paper], topics: list, index_dir: Path):
    from bot.search import SearchEngine

    build = SearchEngine.build
    try:
        engine = build(papers, topics, path=index_dir)
    except TypeError:  # the engine before it kept its index on disk
        engine = build(papers, topics)
    return lambda q: [h.paper.arxiv_id for h in engine.search(q, limit=DEPTH).hits]


def packet(question: dict, papers: list[Paper]) -> str:
    lines = [
        f"# {question['id']}: {question['q']}",
        "",
        f"Need: {' '.join(question['need'].split())}",
        "",
        "Grade each paper 2 (squarely on the subject), 1 (partly relevant), 0 (not about it).",
        "",
    ]
    for paper in sorted(papers, key=lambda p: p.arxiv_id):
        lines += [
            f"## {paper.arxiv_id}",
            f"Title: {paper.title}",
            f"Japanese title: {paper.title_ja}",
            f"Categories: {', '.join(paper.categories)}",
            *([f"Comment: {paper.comment}"] if paper.comment else []),
            "Summary:",
            *[f"- {s}" for s in paper.summary],
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archive", type=Path, default=PROJECT.parent / "shared" / "archive")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--systems", default="engine," + ",".join(BASELINES))
    ap.add_argument("--runs-from", type=Path, action="append", default=[])
    ap.add_argument("--queries", type=Path, default=QUERIES,
                    help="the judged set to pool for (tests/ask_questions.yaml for the answers' set)")
    args = ap.parse_args()

    data = yaml.safe_load(args.queries.read_text(encoding="utf-8"))
    questions = data.get("queries") or data["questions"]
    papers, topics = load_papers(args.archive)
    by_id = {p.arxiv_id: p for p in papers}
    runs: dict[str, dict[str, list[str]]] = {}
    for path in args.runs_from:
        runs.update(json.loads(path.read_text()))
    args.out.mkdir(parents=True, exist_ok=True)
    for name in [s for s in args.systems.split(",") if s]:
        if name == "engine":
            run = engine_runner(papers, topics, args.out / "engine-index")
        else:
            system = BASELINES[name]()
            system.build(papers, topics)
            run = lambda q, s=system: s.ranked(q, DEPTH)
        runs[name] = {q["id"]: run(q["q"]) for q in questions}
        print(f"{name}: ran {len(questions)} questions", file=sys.stderr)
    (args.out / "runs.json").write_text(json.dumps(runs, indent=1))

    packets = args.out / "packets"
    packets.mkdir(exist_ok=True)
    unjudged_total = 0
    for question in questions:
        judged = question.get("judged") or {}
        pooled = {i for system in runs.values() for i in system.get(question["id"], [])[:DEPTH]}
        todo = sorted(i for i in pooled if i not in judged and i in by_id)
        path = packets / f"{question['id']}.md"
        if todo:
            path.write_text(packet(question, [by_id[i] for i in todo]), encoding="utf-8")
        elif path.exists():
            path.unlink()
        unjudged_total += len(todo)
    print(f"{unjudged_total} pooled papers to judge, packets in {packets}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
