"""The agent desk from Telegram: an agent's private chat with the bot (direct mode), a ticket's
topic in the staff group (topic mode), and the customer's side of a taken-over chat.

Each desk command is its own route (see :mod:`bot.handlers.routes`), bound here to the use
case it runs (:mod:`bot.core.services.desk`: note, release, resolve, transfer, reply) in
direct or topic mode.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.deps import Deps
from bot.core.dispatch import Result, StaffHandler, StaffTurn, Turn
from bot.core.services import desk
from bot.core.services.desk import DeskUseCase


def in_private(use_case: DeskUseCase) -> StaffHandler:
    """The direct-mode handler for `use_case`."""

    async def handler(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
        return await desk.in_private_chat(deps, turn.msg, turn.member, use_case)

    handler.__name__ = handler.__qualname__ = f"{use_case.__name__}_in_private"
    return handler


def in_topic(use_case: DeskUseCase) -> StaffHandler:
    """The topic-mode handler for `use_case`."""

    async def handler(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
        return await desk.in_ticket_topic(deps, turn.msg, turn.member, use_case)

    handler.__name__ = handler.__qualname__ = f"{use_case.__name__}_in_topic"
    return handler


async def relay_to_agent(turn: Turn, deps: Deps) -> Sequence[Result]:
    """A customer whose chat an agent has taken over: the bot passes it on, nothing more."""
    assert turn.takeover is not None
    return await desk.relay_customer(deps, turn.msg, turn.customer, turn.takeover)
