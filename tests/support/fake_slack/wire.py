"""What crosses the wire: request parameters, Slack timestamps and cursors, metadata, answers.

Small pure helpers every API family shares, so each family reads like Slack's docs.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests.support.fake_slack.errors import ApiError
from tests.support.fake_slack.workspace import JSON_FIELDS


def message_metadata(value: Any) -> dict[str, Any] | None:
    """Message metadata as Slack stores it; malformed metadata is rejected, not dropped."""
    if value in (None, "", {}):
        return None
    if isinstance(value, str):
        raise ApiError("invalid_metadata_format")
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not value["event_type"]
        or not isinstance(value.get("event_payload", {}), dict)
    ):
        raise ApiError("invalid_metadata_schema")
    return {"event_type": value["event_type"], "event_payload": value.get("event_payload", {})}

def flag(value: Any) -> bool:
    """Slack booleans arrive as true/false (JSON) or "1"/"0"/"true" (form, query)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def ts_us(ts: Any, error: str = "invalid_ts") -> int:
    """A Slack ts ("1700000000.000100") as integer microseconds, for exact comparisons."""
    try:
        return int(Decimal(str(ts)) * 1_000_000)
    except (InvalidOperation, ValueError, OverflowError) as exc:
        raise ApiError(error) from exc


def format_ts(us: int) -> str:
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def encode_cursor(ts: str) -> str:
    """Opaque cursors like Slack's: base64 of "next_ts:<ts>"."""
    return base64.b64encode(f"next_ts:{ts_us(ts)}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = base64.b64decode(cursor, validate=True).decode().partition(":")
        if kind != "next_ts":
            raise ValueError(kind)
        return int(value)
    except ValueError as exc:
        raise ApiError("invalid_cursor") from exc


def parse_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Query string, then a JSON or form body; JSON-in-a-string fields are decoded."""
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    kind = content_type.split(";")[0].strip().lower()
    if body:
        if kind == "application/json":
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise ApiError("invalid_json") from exc
            if not isinstance(data, dict):
                raise ApiError("invalid_json")
            params.update(data)
        elif kind in ("application/x-www-form-urlencoded", ""):
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
            params.update({k: v[-1] for k, v in form.items()})
        else:
            raise ApiError("invalid_form_data")
    for name in JSON_FIELDS:
        value = params.get(name)
        if isinstance(value, str) and value.strip():
            try:
                params[name] = json.loads(value)
            except ValueError:
                pass  # left as a string: the method answers invalid_*_format
    return params


def recorded(params: dict[str, Any]) -> dict[str, Any]:
    """A call's params as recorded: an upload's bytes become their length (JSON-friendly)."""
    out = copy.deepcopy(params)
    if isinstance(out.get("content"), bytes):
        out["content"] = f"<{len(out['content'])} bytes>"
    return out

def write_answer(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Send an answer; a client that went away (e.g. killed by a hook) is not an error."""
    if isinstance(body, str):
        data, content_type = body.encode(), "text/plain; charset=utf-8"
    else:
        data, content_type = json.dumps(body).encode(), "application/json; charset=utf-8"
    extra = dict(headers or {})
    content_type = extra.pop("Content-Type", content_type)
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
