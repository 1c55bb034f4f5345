"""Post due digests to Slack exactly once: a header, then one message per paper.

How "exactly once" holds through crashes, restarts, rate limits and errors:

1. Before each `chat.postMessage` a `pending` row is committed (the intent);
   the message carries the row id in its metadata. Slack's `ts` is committed
   right after the answer. A crash between the two leaves a `pending` row.
2. Before a digest is worked on, its `pending` rows are looked up in Slack
   (`conversations.history` with metadata, from just before the attempt):
   found ones are adopted, the others were never posted and are posted again.
   A message matches a row by its id *and* by kind, digest and paper (ids
   start at 1 again in a fresh store). Before the first post of a digest the
   store has no record of (a fresh store, one restored from an old backup),
   the channel's history since that week began is read once per run, and the
   bot's own messages found there are adopted instead of posted again.
3. A connection error, a 5xx or any answer that is not a clear refusal (a 200
   whose body is not JSON, `ok: false` without a Slack error code) leaves the
   post's fate unknown: the same look-up runs before each retry, never a blind
   re-post. A 429 is a refusal, so it is simply retried after `Retry-After`.
   A Slack error code is permanent: the row is `failed` (certainly not
   posted, retried next run) and that channel stops.
4. Only the holder of a digest's lease posts it (a conditional UPDATE in the
   store), so replicas and a CLI run next to the scheduler never race. On
   PostgreSQL a run also claims each channel it posts to (a session advisory
   lock, `bot.store.locks.Claims`): one replica posts a channel's digests in
   order while the others leave it alone, and when that replica dies its
   claim goes with its connection, so the next run takes its leases over at
   once and finishes the week (step 2 adopts what it had sent).

The time, the sleep, the Slack client, the store and the renderer are injected:
tests drive this package with a fixed clock and a fake Slack server.

Modules, in the order a run uses them:

- `plan`: what is due, where, in what order (reads the store only);
- `run`: `publish_due` and the run's order of work, channel by channel (`DigestRun`,
  handed a `Publisher`: the store, Slack, the clock, the renderer, the options);
- `clock`: a run's time (`RunClock`), shared with recaps and the weekly DMs;
- `once`: the one exactly-once mechanism (intent, post, record, look-up by
  metadata; the retry and backoff constants), used by digests, recaps and DMs;
- `leases`: leases and claims for digests, recaps and weekly DMs (step 4);
- `posting`: a channel's messages through `once`: its `posts` rows, its history (steps 1–3);
- `dry_run`: the same, recorded instead of sent;
- `slack_calls`: the Slack-call layer: pacing, 429s, refusals vs unknown outcomes;
- `stops`: why a channel's run stops, and the line that says so;
- `messages`: the renderer and the metadata each message carries;
- `report`: what the run did.
"""

from bot.publisher.clock import RunClock
from bot.publisher.leases import default_holder
from bot.publisher.messages import EVENT_TYPE, BlockKitRenderer, DigestRenderer
from bot.publisher.once import (
    BACKOFF_SECONDS,
    LEASE_TTL,
    MAX_ATTEMPTS,
    RECONCILE_MARGIN,
    ExactlyOnce,
    Intents,
    NoAnswer,
    NotSent,
    Sent,
    find_by_metadata,
)
from bot.publisher.plan import Outlook, Plan, Target, outlook, plan_run, selected_topics
from bot.publisher.posting import Checkpoint
from bot.publisher.report import ChannelReport, Preview, PublishReport
from bot.publisher.run import DUE, DigestRun, Publisher, RunHooks, Selection, publish_due
from bot.publisher.slack_calls import (
    AUTH_ERRORS,
    GONE_ERRORS,
    HISTORY_PAGE,
    MIN_INTERVAL,
    RATE_LIMIT_RETRIES,
    UNCERTAIN_ERRORS,
    SlackCalls,
    SlackRefused,
    SlackUncertain,
)

__all__ = [
    "AUTH_ERRORS",
    "BACKOFF_SECONDS",
    "DUE",
    "EVENT_TYPE",
    "GONE_ERRORS",
    "HISTORY_PAGE",
    "LEASE_TTL",
    "MAX_ATTEMPTS",
    "MIN_INTERVAL",
    "RATE_LIMIT_RETRIES",
    "RECONCILE_MARGIN",
    "UNCERTAIN_ERRORS",
    "BlockKitRenderer",
    "ChannelReport",
    "Checkpoint",
    "DigestRenderer",
    "DigestRun",
    "ExactlyOnce",
    "Intents",
    "NoAnswer",
    "NotSent",
    "Outlook",
    "Plan",
    "Preview",
    "PublishReport",
    "Publisher",
    "RunClock",
    "RunHooks",
    "Selection",
    "Sent",
    "SlackCalls",
    "SlackRefused",
    "SlackUncertain",
    "Target",
    "default_holder",
    "find_by_metadata",
    "outlook",
    "plan_run",
    "publish_due",
    "selected_topics",
]
