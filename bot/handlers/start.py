"""/start and /help. ``/start`` from a customer who opted out of marketing opts them back in
(:func:`bot.core.services.consent.welcome_back`) and says so under the greeting."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.messages import Reply
from bot.core.services.consent import welcome_back
from bot.core.services.dialogues import end_dialogue


async def on_start(turn: Turn, deps: Deps) -> Sequence[Result]:
    if turn.conversation is not None:  # a fresh start abandons any half-finished dialogue
        await end_dialogue(deps, turn.msg.chat_id)
    greeting = Reply("start.greeting", {"name": turn.name})
    if await welcome_back(deps, turn.customer):
        return [greeting, Reply("consent.opted_in", {"name": turn.name})]
    return [greeting]


async def on_help(turn: Turn, deps: Deps) -> Sequence[Result]:
    return [Reply("help.text", {"name": turn.name})]


async def on_unknown_command(turn: Turn, deps: Deps) -> Sequence[Result]:
    return [Reply("fallback.unknown_command", {"name": turn.name, "command": turn.msg.command})]


async def on_edit(turn: Turn, deps: Deps) -> Sequence[Result]:
    """A customer edited an earlier message. While an agent has the chat the edit is relayed
    (the "chat taken over" guard routes it); otherwise the bot answered the original already
    and lets the edit be."""
    return []
