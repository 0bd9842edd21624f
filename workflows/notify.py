"""Posting to Slack from steps, once per purpose even when a step runs again.

A step may run more than once (it failed after posting, or its worker died before
the checkpoint). :func:`post_once` keys each message by its purpose: the key is
claimed in the database before posting and the ts recorded after. A claim without a
ts means an earlier try may have posted and died: the DM's recent history is searched
for the key (carried in the message's metadata) before posting again.
"""

from __future__ import annotations

import logging

from feedback import outbox
from workflows.deps import current
from workflows.engine import step
from workflows.messages import Message
from workflows.slack import SlackFatal

__all__ = ["UNREACHABLE", "dm_once", "notify", "post_once", "update_posted"]

logger = logging.getLogger(__name__)

UNREACHABLE = ("user_not_found", "user_disabled", "cannot_dm_bot")
"""Slack's answers when a person cannot be sent a DM at all."""


async def post_once(
    key: str, to: str, message: Message, *, thread_ts: str | None = None
) -> tuple[str, str]:
    """Post ``message`` to a channel, or to a person's DM (``to`` a user id), once per key.

    Returns:
        The channel and ts of the message (the earlier one when it was posted before).
    """
    deps = current()
    channel = await deps.slack.dm_channel(to) if to.startswith(("U", "W")) else to
    async with deps.db.transaction() as conn:
        earlier = await outbox.claim(conn, key, channel)
    if earlier is not None and earlier.ts is not None:
        return earlier.channel_id, earlier.ts
    if earlier is not None:  # claimed, never recorded: did the last try post it?
        found = await deps.slack.find_posted(channel, key, thread_ts=thread_ts)
        if found is not None:
            async with deps.db.transaction() as conn:
                await outbox.sent(conn, key, channel, found)
            return channel, found
    posted_channel, ts = await deps.slack.post(
        channel, message.text, message.blocks, thread_ts=thread_ts, key=key
    )
    async with deps.db.transaction() as conn:
        await outbox.sent(conn, key, posted_channel, ts)
    return posted_channel, ts


async def dm_once(
    key: str, user: str | None, message: Message, *, thread_ts: str | None = None
) -> tuple[str, str] | None:
    """DM a person once per key; ``None`` when they cannot be reached (gone, a bot).

    Filing never fails because a confirmation could not be delivered.
    """
    if not user:
        return None
    try:
        return await post_once(key, user, message, thread_ts=thread_ts)
    except SlackFatal as exc:
        if exc.error not in UNREACHABLE:
            raise
        logger.warning("cannot DM the user for %s: %s", key, exc.error)
        return None


async def update_posted(channel: str, ts: str, message: Message) -> None:
    """Replace a message the bot posted (idempotent by nature)."""
    await current().slack.update(channel, ts, message.text, message.blocks)


@step(max_attempts=8)
async def notify(key: str, to: str, message: Message) -> None:
    """A step that DMs one message once (see :func:`dm_once`)."""
    await dm_once(key, to, message)
