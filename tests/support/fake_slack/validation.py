"""Block Kit validation as Slack answers it, shared by chat.*, response_url, unfurls and views.

Public (`validate_message`, `validate_view`) so rendering tests check their output
against the same rules the fake's methods apply.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.support.fake_slack.errors import ApiError
from tests.support.fake_slack.workspace import MAX_BLOCKS, MAX_BLOCKS_TEXT, MAX_TEXT, MAX_VIEW_BLOCKS, SCHEMA_ENV


def block_kit_schema_path() -> Path | None:
    """Where the Block Kit schema lives: `$SLACK_BLOCK_KIT_SCHEMA`, else `../shared/schemas/`."""
    project_root = Path(__file__).resolve().parents[3]
    candidates = [project_root.parent / "shared" / "schemas" / "slack-block-kit.schema.json"]
    if os.environ.get(SCHEMA_ENV):
        candidates.insert(0, Path(os.environ[SCHEMA_ENV]))
    return next((p for p in candidates if p.is_file()), None)


@functools.cache
def _block_validators() -> dict[str | None, Any] | None:
    """One compiled validator per block type (key None: any block), built once per process.

    Validating each block against its own type's schema (instead of the top-level
    `oneOf` over every type) is ~3x faster and yields Slack-like precise pointers.
    """
    path = block_kit_schema_path()
    if path is None:
        return None
    from jsonschema import Draft202012Validator

    schema = json.loads(path.read_text(encoding="utf-8"))
    defs = schema.get("$defs", {})
    if "block" not in defs:  # an unexpected schema layout: validate whole lists with it
        return {None: Draft202012Validator(schema)}

    def compile_def(name: str) -> Any:
        return Draft202012Validator(
            {"$schema": schema.get("$schema"), "$defs": defs, "$ref": f"#/$defs/{name}"}
        )

    validators: dict[str | None, Any] = {None: compile_def("block")}
    for ref in defs["block"].get("oneOf", []):
        name = ref["$ref"].rsplit("/", 1)[-1]
        block_type = defs[name].get("properties", {}).get("type", {}).get("const")
        if isinstance(block_type, str):
            validators[block_type] = compile_def(name)
    return validators


def _most_specific(error: Any) -> Any:
    """Descend `oneOf`/`anyOf` into the branch meant for the object (its `type` matched).

    jsonschema reports "is not valid under any of the given schemas" at the union;
    Slack names the leaf field (`/blocks/0/text/text`), and so do we.
    """
    branches: dict[Any, list[Any]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    best = error
    for errors in branches.values():
        if any(e.validator == "const" and list(e.relative_path) == ["type"] for e in errors):
            continue  # the branch for another type: not what the author meant
        for sub in errors:
            candidate = _most_specific(sub)
            if len(candidate.absolute_path) > len(best.absolute_path):
                best = candidate
    return best


def _describe(error: Any) -> str:
    """Slack's wording for the common failures; jsonschema's (shortened) for the rest."""
    value = error.validator_value
    match error.validator:
        case "maxLength":
            return f"must be less than {value + 1} characters"
        case "minLength":
            return f"must be more than {value - 1} characters"
        case "maxItems":
            return f"no more than {value} items allowed"
        case "minItems":
            return f"must provide at least {value} items"
        case "required":
            return f"missing required field: {_first_quoted(error.message)}"
        case "additionalProperties":
            return f"invalid additional property: {_first_quoted(error.message)}"
        case "const" | "enum":
            return "must be a valid enum value"
        case "oneOf" | "anyOf":
            return "failed to match all allowed schemas"
    message = error.message
    return message if len(message) <= 200 else message[:197] + "..."


def _first_quoted(message: str) -> str:
    """'text' from "'text' is a required property" (jsonschema's wording)."""
    parts = message.split("'")
    return parts[1] if len(parts) > 2 else message


def _pointer(path: Iterable[Any]) -> str:
    return "".join(f"/{part}" for part in path)


@functools.lru_cache(maxsize=4096)
def _block_problem(block_json: str) -> tuple[str, str] | None:
    """(message, pointer inside the block) for an invalid block; cached by content."""
    block = json.loads(block_json)
    if not isinstance(block, dict):
        return "must be an object", ""
    validators = _block_validators()
    if validators is None:
        return None
    validator = validators.get(block.get("type"), validators[None])
    errors = list(validator.iter_errors(block))
    if not errors:
        return None
    error = max(map(_most_specific, errors), key=lambda e: len(e.absolute_path))
    return _describe(error), _pointer(error.absolute_path)


def _duplicate_ids(blocks: list[Any]) -> list[str]:
    """block_id must be unique in a message, action_id unique within its block."""
    problems: list[str] = []
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                problems.append(f"[ERROR] duplicate block_id [json-pointer:/blocks/{i}/block_id]")
            block_ids.add(block_id)
        elements = block.get("elements") if block.get("type") in ("actions", "input") else None
        action_ids: set[str] = set()
        for j, element in enumerate(elements if isinstance(elements, list) else []):
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if isinstance(action_id, str):
                if action_id in action_ids:
                    problems.append(
                        "[ERROR] duplicate action_id "
                        f"[json-pointer:/blocks/{i}/elements/{j}/action_id]"
                    )
                action_ids.add(action_id)
    return problems


def _text_chars(node: Any) -> int:
    """All characters of `text` strings anywhere in the blocks (Slack's ~12k payload rule)."""
    if isinstance(node, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else _text_chars(v)
            for k, v in node.items()
        )
    if isinstance(node, list):
        return sum(_text_chars(v) for v in node)
    return 0


#: Per-element limits Slack enforces (checked even without the schema file).
_TEXT_LIMITS = {"header": 150, "section": 3000, "button": 75}
_ELEMENT_LIMITS = {"context": 10, "actions": 25}


def _limit_problems(node: Any, pointer: str, parent: str | None = None) -> list[str]:
    """Empty text objects and the size limits of SLACK_NOTES.md, by JSON pointer."""
    problems: list[str] = []
    if isinstance(node, list):
        for i, item in enumerate(node):
            problems += _limit_problems(item, f"{pointer}/{i}", parent)
        return problems
    if not isinstance(node, dict):
        return problems
    kind = node.get("type")
    if kind in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
        limit = _TEXT_LIMITS.get(parent or "")
        if not node["text"]:
            problems.append(f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]")
        elif limit is not None and len(node["text"]) > limit:
            problems.append(f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}/text]")
    elements = node.get("elements")
    if kind in _ELEMENT_LIMITS and isinstance(elements, list) and len(elements) > _ELEMENT_LIMITS[kind]:
        problems.append(f"[ERROR] no more than {_ELEMENT_LIMITS[kind]} items allowed [json-pointer:{pointer}/elements]")
    for key, limit in (("action_id", 255), ("block_id", 255), ("value", 2000), ("url", 3000)):
        if isinstance(node.get(key), str) and len(node[key]) > limit:
            problems.append(f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}/{key}]")
    for key, value in node.items():
        if isinstance(value, (dict, list)):
            problems += _limit_problems(value, f"{pointer}/{key}", kind if isinstance(kind, str) else parent)
    return problems


def validate_blocks(blocks: list[Any], *, max_blocks: int = MAX_BLOCKS, text_limit: bool = True) -> None:
    """Raise `ApiError` as Slack would for these blocks (count, schema, ids, total text).

    Messages hold 50 blocks and about 12,000 characters of text; views
    (`max_blocks=100`, `text_limit=False`) hold 100 blocks.
    """
    if len(blocks) > max_blocks:
        raise ApiError(
            "invalid_blocks",
            [f"[ERROR] no more than {max_blocks} items allowed [json-pointer:/blocks]"],
        )
    validators = _block_validators()
    problems: list[str] = [] if validators is not None else _limit_problems(blocks, "/blocks")
    if validators is not None and list(validators) == [None]:
        errors = list(validators[None].iter_errors(blocks))
        problems = [
            f"[ERROR] {_describe(e)} [json-pointer:/blocks{_pointer(e.absolute_path)}]"
            for e in map(_most_specific, errors)
        ]
    else:
        for i, block in enumerate(blocks):
            problem = _block_problem(json.dumps(block, sort_keys=True))
            if problem is not None:
                problems.append(f"[ERROR] {problem[0]} [json-pointer:/blocks/{i}{problem[1]}]")
    problems += _duplicate_ids(blocks)
    if problems:
        raise ApiError("invalid_blocks", problems)
    if text_limit and _text_chars(blocks) > MAX_BLOCKS_TEXT:
        raise ApiError(
            "msg_blocks_too_long",
            [f"[ERROR] more than {MAX_BLOCKS_TEXT} characters of text [json-pointer:/blocks]"],
        )


def validate_message(text: Any = None, blocks: Any = None, attachments: Any = None) -> None:
    """Raise `ApiError` for a message Slack would reject (`no_text`, `msg_too_long`, ...).

    Public so that rendering tests can check their output against the same rules.
    """
    if blocks is not None and not isinstance(blocks, list):
        raise ApiError(
            "invalid_blocks_format", ["[ERROR] must be a JSON array [json-pointer:/blocks]"]
        )
    if attachments is not None and not isinstance(attachments, list):
        raise ApiError("invalid_attachments")
    if not text and not blocks and not attachments:
        raise ApiError("no_text")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    if blocks:
        validate_blocks(blocks)


#: Top-level fields of a Home tab view, and the length limits Slack sets on them.
_VIEW_FIELDS = {"type", "blocks", "private_metadata", "callback_id", "external_id"}
_VIEW_LIMITS = {"private_metadata": 3000, "callback_id": 255, "external_id": 255}


def validate_view(view: Any, *, kinds: Iterable[str] = ("home",)) -> None:
    """Raise `ApiError` for a view Slack would reject (views.publish: a Home tab).

    Public so that rendering tests can check a Home tab against the same rules.
    """
    if not isinstance(view, dict):
        raise ApiError("invalid_arguments", ["[ERROR] must be an object [json-pointer:/view]"])
    if view.get("type") not in tuple(kinds):
        raise ApiError("invalid_arguments", ["[ERROR] must be a valid enum value [json-pointer:/view/type]"])
    extra = sorted(set(view) - _VIEW_FIELDS)
    if extra:
        raise ApiError(
            "invalid_arguments",
            [f"[ERROR] invalid additional property: {extra[0]} [json-pointer:/view/{extra[0]}]"],
        )
    for name, limit in _VIEW_LIMITS.items():
        value = view.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise ApiError(
                "invalid_arguments",
                [f"[ERROR] must be less than {limit + 1} characters [json-pointer:/view/{name}]"],
            )
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        raise ApiError("invalid_arguments", ["[ERROR] missing required field: blocks [json-pointer:/view]"])
    try:
        validate_blocks(blocks, max_blocks=MAX_VIEW_BLOCKS, text_limit=False)
    except ApiError as exc:
        raise ApiError(
            "invalid_arguments",
            [m.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks") for m in exc.messages],
        ) from None
