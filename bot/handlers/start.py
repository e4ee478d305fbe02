"""/start and /help."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.messages import Reply
from bot.handlers import linking


async def on_start(turn: Turn, deps: Deps) -> Sequence[Result]:
    async with deps.uow() as uow:  # a fresh start abandons any half-finished dialogue
        await uow.conversations.clear(turn.msg.chat_id)
        await uow.commit()
    if turn.msg.args:  # a deep link from the shop: t.me/<bot>?start=<token>
        return [*await linking.on_start_token(turn, deps)]
    return [Reply("start.greeting", {"name": turn.name})]


async def on_help(turn: Turn, deps: Deps) -> Sequence[Result]:
    return [Reply("help.text", {"name": turn.name})]


async def on_unknown_command(turn: Turn, deps: Deps) -> Sequence[Result]:
    return [Reply("fallback.unknown_command", {"name": turn.name, "command": turn.msg.command})]
