"""Light Block Kit validation with Slack's refusals, so a bad layout fails in tests.

Checked: blocks form a list of objects of a known ``type``; at most 50 blocks in a
message and 100 in a view; ``block_id`` at most 255 characters and unique; section
text at most 3,000 characters (fields: 10 of at most 2,000); header text plain and at
most 150; actions hold 1 to 25 elements and context 1 to 10; ``action_id`` at most 255
characters and unique within its block; buttons need an ``action_id`` (stricter than
Slack, which makes one up) and plain text of at most 75 characters, a ``value`` of at
most 2,000 and a ``url`` of at most 3,000; modals need a plain title of at most 24.

Problems read as Slack words them, with a JSON pointer to the culprit:
``"must be less than 76 characters [json-pointer:/blocks/2/elements/0/text/text]"``.
Messages answer ``invalid_blocks`` (with ``errors`` and ``response_metadata.messages``),
views answer ``invalid_arguments`` (with ``response_metadata.messages``), as Slack does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.simulator.errors import SlackError

BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
VIEW_SIZE_LIMIT = 250_000


class _Problems:
    """Problems found so far, each ending in Slack's ``[json-pointer:…]``."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, pointer: str, text: str) -> None:
        self.items.append(f"{text} [json-pointer:{pointer}]")


def block_problems(blocks: object, *, pointer: str = "/blocks", limit: int = 50) -> list[str]:
    """Check a list of blocks.

    Args:
        blocks: The decoded ``blocks`` argument.
        pointer: JSON pointer of the list, for the messages.
        limit: The most blocks allowed (50 in messages, 100 in views).

    Returns:
        The problems in Slack's words; empty when the blocks are fine.
    """
    out = _Problems()
    _check_blocks(blocks, pointer, limit, out)
    return out.items


def check_message_blocks(blocks: object) -> list[dict[str, Any]] | None:
    """Validate a message's ``blocks`` argument (``None`` when absent).

    Raises:
        SlackError: ``invalid_blocks_format`` when it is not JSON, ``invalid_blocks``
            when the layout breaks a rule.
    """
    if blocks is None:
        return None
    if isinstance(blocks, str):
        raise SlackError("invalid_blocks_format", ["`blocks` must be a JSON array of objects"])
    problems = block_problems(blocks, limit=MESSAGE_BLOCK_LIMIT)
    if problems:
        raise SlackError(
            "invalid_blocks",
            [f"[ERROR] {problem}" for problem in problems],
            extra={"errors": problems},
        )
    assert isinstance(blocks, list)
    return blocks


def check_view(view: object, *, types: tuple[str, ...]) -> dict[str, Any]:
    """Validate a ``view`` argument of ``views.open``, ``views.publish`` or ``views.update``.

    Args:
        view: The decoded ``view`` argument.
        types: The view types the method accepts (``("modal",)``, ``("home",)``).

    Raises:
        SlackError: ``invalid_arguments`` naming each problem; ``view_too_large``.
    """
    out = _Problems()
    if not isinstance(view, dict):
        out.add("/view", "must provide an object")
    else:
        _check_view_fields(view, types, out)
    if out.items:
        raise SlackError("invalid_arguments", [f"[ERROR] {problem}" for problem in out.items])
    assert isinstance(view, dict)
    if len(json.dumps(view)) > VIEW_SIZE_LIMIT:
        raise SlackError("view_too_large", [f"views are limited to {VIEW_SIZE_LIMIT} bytes"])
    return view


def _check_view_fields(view: dict[str, Any], types: tuple[str, ...], out: _Problems) -> None:
    if view.get("type") not in types:
        out.add("/view/type", f"must be one of {', '.join(types)}, not {view.get('type')!r}")
    _check_blocks(view.get("blocks"), "/view/blocks", VIEW_BLOCK_LIMIT, out)
    if view.get("type") == "modal":
        _check_text(view.get("title"), "/view/title", out, limit=24, plain=True)
    for name in ("submit", "close"):
        if view.get(name) is not None:
            _check_text(view[name], f"/view/{name}", out, limit=24, plain=True)
    for name, limit in (("callback_id", 255), ("external_id", 255), ("private_metadata", 3000)):
        _check_string(view.get(name), f"/view/{name}", out, limit=limit)


def _check_blocks(blocks: object, pointer: str, limit: int, out: _Problems) -> None:
    if not isinstance(blocks, list):
        out.add(pointer, "must provide an array")
        return
    if len(blocks) > limit:
        out.add(pointer, f"must provide no more than {limit} items")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        here = f"{pointer}/{index}"
        if not isinstance(block, dict):
            out.add(here, "must provide an object")
            continue
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            known = ", ".join(sorted(BLOCK_TYPES))
            out.add(f"{here}/type", f"unknown block type {kind!r} (known: {known})")
            continue
        _check_block_id(block.get("block_id"), f"{here}/block_id", block_ids, out)
        _BLOCK_CHECKS.get(kind, _no_check)(block, here, out)


def _check_block_id(block_id: object, pointer: str, seen: set[str], out: _Problems) -> None:
    if block_id is None:
        return
    _check_string(block_id, pointer, out, limit=255)
    if isinstance(block_id, str):
        if block_id in seen:
            out.add(pointer, f"duplicate block_id {block_id!r}: block_id must be unique")
        seen.add(block_id)


def _no_check(block: dict[str, Any], here: str, out: _Problems) -> None:
    """Block types the simulator accepts as they come."""


def _check_section(block: dict[str, Any], here: str, out: _Problems) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and fields is None:
        out.add(here, "must provide either text or fields")
    if text is not None:
        _check_text(text, f"{here}/text", out, limit=3000)
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > 10:
            out.add(f"{here}/fields", "must provide an array of no more than 10 items")
        else:
            for index, item in enumerate(fields):
                _check_text(item, f"{here}/fields/{index}", out, limit=2000)
    if block.get("accessory") is not None:
        _check_element(block["accessory"], f"{here}/accessory", set(), out)


def _check_header(block: dict[str, Any], here: str, out: _Problems) -> None:
    _check_text(block.get("text"), f"{here}/text", out, limit=150, plain=True)


def _check_actions(block: dict[str, Any], here: str, out: _Problems) -> None:
    elements = _element_list(block, here, out, limit=25)
    action_ids: set[str] = set()
    for index, element in enumerate(elements):
        _check_element(element, f"{here}/elements/{index}", action_ids, out)


def _check_context(block: dict[str, Any], here: str, out: _Problems) -> None:
    for index, element in enumerate(_element_list(block, here, out, limit=10)):
        if isinstance(element, dict) and element.get("type") in ("plain_text", "mrkdwn"):
            _check_text(element, f"{here}/elements/{index}", out, limit=3000)


def _check_input(block: dict[str, Any], here: str, out: _Problems) -> None:
    _check_text(block.get("label"), f"{here}/label", out, limit=2000, plain=True)
    if block.get("element") is None:
        out.add(f"{here}/element", "must provide an object")
    else:
        _check_element(block["element"], f"{here}/element", set(), out)


def _check_image(block: dict[str, Any], here: str, out: _Problems) -> None:
    _check_string(block.get("alt_text"), f"{here}/alt_text", out, limit=2000, required=True)
    if block.get("image_url") is None and block.get("slack_file") is None:
        out.add(here, "must provide either image_url or slack_file")


def _element_list(block: dict[str, Any], here: str, out: _Problems, *, limit: int) -> list[Any]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= limit:
        out.add(f"{here}/elements", f"must provide an array of 1 to {limit} items")
        return []
    return elements


def _check_element(element: object, here: str, action_ids: set[str], out: _Problems) -> None:
    if not isinstance(element, dict):
        out.add(here, "must provide an object")
        return
    if not isinstance(element.get("type"), str):
        out.add(f"{here}/type", "must provide a string")
    action_id = element.get("action_id")
    if action_id is not None:
        _check_string(action_id, f"{here}/action_id", out, limit=255)
        if isinstance(action_id, str) and action_id in action_ids:
            out.add(
                f"{here}/action_id",
                f"duplicate action_id {action_id!r}: action_id must be unique within a block",
            )
        action_ids.add(str(action_id))
    if element.get("type") == "button":
        _check_button(element, here, out)


def _check_button(button: dict[str, Any], here: str, out: _Problems) -> None:
    _check_text(button.get("text"), f"{here}/text", out, limit=75, plain=True)
    if not button.get("action_id"):
        out.add(
            f"{here}/action_id", "must provide an action_id (the simulator wants one per button)"
        )
    _check_string(button.get("value"), f"{here}/value", out, limit=2000)
    _check_string(button.get("url"), f"{here}/url", out, limit=3000)
    if button.get("style") not in (None, "primary", "danger"):
        out.add(f"{here}/style", "must be one of primary, danger")


def _check_text(obj: object, here: str, out: _Problems, *, limit: int, plain: bool = False) -> None:
    if not isinstance(obj, dict):
        out.add(here, "must provide an object")
        return
    kinds = ("plain_text",) if plain else ("plain_text", "mrkdwn")
    if obj.get("type") not in kinds:
        out.add(f"{here}/type", f"must be one of {', '.join(kinds)}")
    _check_string(obj.get("text"), f"{here}/text", out, limit=limit, required=True)


def _check_string(
    value: object, here: str, out: _Problems, *, limit: int, required: bool = False
) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str):
        out.add(here, "must provide a string")
    elif required and not value:
        out.add(here, "must be more than 0 characters")
    elif len(value) > limit:
        out.add(here, f"must be less than {limit + 1} characters")


_BLOCK_CHECKS: dict[str, Callable[[dict[str, Any], str, _Problems], None]] = {
    "actions": _check_actions,
    "context": _check_context,
    "header": _check_header,
    "image": _check_image,
    "input": _check_input,
    "section": _check_section,
}
