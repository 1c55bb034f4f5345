"""The one Block Kit schema validator of the tests: rendering tests and the fake Slack use it.

Why here and not in `bot`: the running bot never needs the schema. It keeps
Slack's limits by construction and checks them with `bot.render.limits.violations`
(the one rule set for limits); the public JSON Schema of Block Kit
(`../shared/schemas`, or $SLACK_BLOCK_KIT_SCHEMA) and `jsonschema` are test
dependencies. Two faces of one compiled schema:

- `validate_blocks`: schema errors as plain strings, for rendering tests;
- `slack_problems`: what Slack's `invalid_blocks` answer would say, for the fake
  (without the schema file, the limits of `violations` stand in for it).
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.render.limits import blocks_violations

SCHEMA_NAME = "slack-block-kit.schema.json"
#: Where the Block Kit schema is looked for first.
SCHEMA_ENV = "SLACK_BLOCK_KIT_SCHEMA"
#: The default place: `shared/schemas/` beside the project checkout.
SHARED_SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "schemas" / SCHEMA_NAME


def default_schema_path() -> Path:
    """$SLACK_BLOCK_KIT_SCHEMA, else `shared/schemas/` beside the project checkout."""
    configured = os.environ.get(SCHEMA_ENV)
    return Path(configured) if configured else SHARED_SCHEMA


def found_schema_path() -> Path | None:
    """The first of $SLACK_BLOCK_KIT_SCHEMA and `shared/schemas/` that is a file; None on a bare clone."""
    candidates = [SHARED_SCHEMA]
    if os.environ.get(SCHEMA_ENV):
        candidates.insert(0, Path(os.environ[SCHEMA_ENV]))
    return next((p for p in candidates if p.is_file()), None)


def _type_consts(schema: Mapping[str, Any]) -> dict[str, str]:
    """`#/$defs/<name>` → the `type` constant that definition pins (where it pins one)."""
    consts = {}
    for name, definition in schema.get("$defs", {}).items():
        const = definition.get("properties", {}).get("type", {}).get("const")
        if isinstance(const, str) and "type" in definition.get("required", []):
            consts[f"#/$defs/{name}"] = const
    return consts


@functools.lru_cache(maxsize=4)
def validators(schema_path: Path) -> tuple[Any, Any]:
    """The schema's validator, exactly as published, and a faster equivalent one.

    Block Kit is a tree of `oneOf`s over objects tagged by `type` (21 block types,
    ~30 element types), and a plain `oneOf` validates an element against every
    branch. The fast validator skips the branches whose definition requires
    another `type` constant: they can't match, so the outcome is the same.
    """
    from jsonschema import Draft202012Validator, ValidationError
    from jsonschema.validators import extend

    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    consts = _type_consts(schema)

    def one_of(validator: Any, one_of: list[Any], instance: Any, _schema: Any) -> Iterator[Any]:
        kind = instance.get("type") if isinstance(instance, dict) else None
        candidates = [
            (i, sub)
            for i, sub in enumerate(one_of)
            if not isinstance(kind, str) or consts.get(sub.get("$ref", ""), kind) == kind
        ]
        all_errors = []
        valid: list[Any] = []
        for index, sub in candidates:
            errors = list(validator.descend(instance, sub, schema_path=index))
            if not errors:
                valid.append(sub)
                if len(valid) > 1:
                    break
            elif not valid:
                all_errors.extend(errors)
        if not valid:
            yield ValidationError(
                f"{str(instance)[:200]} is not valid under any of the given schemas",
                context=all_errors,
            )
        elif len(valid) > 1:
            yield ValidationError(
                f"{str(instance)[:200]} is valid under more than one of the given schemas"
            )

    fast = extend(Draft202012Validator, {"oneOf": one_of})
    return Draft202012Validator(schema), fast(schema)


def validate_blocks(
    blocks: Sequence[Any], *, schema_path: Path | None = None, exact: bool = False
) -> list[str]:
    """Schema errors for a list of blocks (`"/3/text/text: ... is too long"`); empty if valid.

    Uses the public Block Kit schema ($SLACK_BLOCK_KIT_SCHEMA or `shared/schemas/`).
    By default `oneOf` only tries the branches of the right `type` (same result,
    many times faster, for the thousands of messages of the real archive);
    `exact=True` runs the unmodified validator.
    """
    standard, fast = validators((schema_path or default_schema_path()).resolve())
    validator = standard if exact else fast
    return [
        f"/{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:200]}"
        for error in validator.iter_errors(list(blocks))
    ]


# --------------------------------------------------------------------------------------
# Slack's wording, for the fake's `invalid_blocks` answers


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


@functools.cache
def _slack_validator() -> Any | None:
    """The fast validator of the schema found at first use (one per process); None without it."""
    path = found_schema_path()
    return None if path is None else validators(path.resolve())[1]


@functools.lru_cache(maxsize=4096)
def _block_problem(block_json: str) -> tuple[str, str] | None:
    """(message, pointer inside the block) for an invalid block; cached by content.

    The block is validated as a one-block list, so only its own type's
    definition is tried (the fast `oneOf`).
    """
    block = json.loads(block_json)
    if not isinstance(block, dict):
        return "must be an object", ""
    validator = _slack_validator()
    errors = list(validator.iter_errors([block])) if validator is not None else []
    if not errors:
        return None
    error = max(map(_most_specific, errors), key=lambda e: len(e.absolute_path))
    return _describe(error), _pointer(list(error.absolute_path)[1:])


def _duplicate_ids(blocks: Sequence[Any]) -> list[str]:
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


_INDEX_RE = re.compile(r"\[(\d+)\]")


def _as_slack_error(problem: str) -> str:
    """`blocks[1].text.text: 151 characters > 150` → `[ERROR] … [json-pointer:/blocks/1/text/text]`."""
    path, _, detail = problem.partition(": ")
    pointer = _pointer(_INDEX_RE.sub(r".\1", path).split("."))
    return f"[ERROR] {detail} [json-pointer:{pointer}]"


def limit_problems(blocks: Sequence[Any]) -> list[str]:
    """`bot.render.limits`' rules for each block, in Slack's wording: what stands in for the schema."""
    return [
        _as_slack_error(p)
        for p in blocks_violations(blocks, text_budget=sys.maxsize, max_blocks=sys.maxsize)
    ]


def slack_problems(blocks: Sequence[Any]) -> list[str]:
    """Slack's `invalid_blocks` messages for these blocks (`[ERROR] … [json-pointer:/blocks/…]`).

    Each block against the schema (or, without the schema file, `limit_problems`),
    then Slack's rules on repeated ids. The count of blocks and the total text
    are the caller's: they differ between a message and a view.
    """
    if _slack_validator() is None:
        problems = limit_problems(blocks)
    else:
        problems = []
        for i, block in enumerate(blocks):
            problem = _block_problem(json.dumps(block, sort_keys=True))
            if problem is not None:
                problems.append(f"[ERROR] {problem[0]} [json-pointer:/blocks/{i}{problem[1]}]")
    return problems + _duplicate_ids(blocks)
