"""The agent desk from Telegram: an agent's private chat with the bot (direct mode), a ticket's
topic in the staff group (topic mode), and the customer's side of a taken-over chat.

Each desk command is its own route (see :mod:`bot.handlers.routes`); the handlers here only
find which taken-over chat a message is about, run the command's use case from
:mod:`bot.core.services.desk` in one unit of work, and return what it says.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.deps import Deps
from bot.core.desk import Takeover
from bot.core.dispatch import Result, StaffHandler, StaffTurn, Turn
from bot.core.messages import Reply
from bot.core.ports import UnitOfWork
from bot.core.services import desk
from bot.core.services.desk import DeskUseCase


async def _work(
    uow: UnitOfWork, turn: StaffTurn, deps: Deps, use_case: DeskUseCase, takeover: Takeover
) -> Sequence[Result]:
    """Runs `use_case` on the taken-over chat inside the caller's unit of work."""
    work = await desk.desk_work(
        uow,
        turn.msg,
        turn.member,
        takeover,
        now=deps.clock.now(),
        policies=deps.policies,
        locales=deps.renderer.locales,
    )
    if work is None:
        return [Reply("desk.gone", chat_id=turn.msg.chat_id)]
    return await use_case(uow, work, deps.renderer.locales)


def in_private(use_case: DeskUseCase) -> StaffHandler:
    """The direct-mode handler for `use_case`: the chat the agent means is the one whose
    relayed message they reply to, else their only one; otherwise they are asked which."""

    async def handler(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
        msg, agent = turn.msg, turn.member
        async with deps.uow() as uow:
            target = await desk.target_of(uow, msg, agent)
            if target is None:
                working = await uow.desk.for_agent(agent.telegram_user_id)
                key = "desk.which_customer" if working else "desk.no_chat"
                return [Reply(key, chat_id=msg.chat_id)]
            results = await _work(uow, turn, deps, use_case, target)
            await uow.commit()
        return results

    handler.__name__ = handler.__qualname__ = f"{use_case.__name__}_in_private"
    return handler


def in_topic(use_case: DeskUseCase) -> StaffHandler:
    """The topic-mode handler for `use_case`: the chat is the ticket's whose topic the message
    is in, and notices answer in that topic. Chatter in topics that are not a ticket's is left
    alone; a ticket whose chat nobody has taken over gets a pointer (a note needs none)."""

    async def handler(turn: StaffTurn, deps: Deps) -> Sequence[Result]:
        msg = turn.msg
        if not msg.is_topic_message:
            return []
        async with deps.uow() as uow:
            target = await desk.topic_target(
                uow,
                msg,
                turn.member,
                now=deps.clock.now(),
                policies=deps.policies,
                allow_without_takeover=use_case is desk.note,
            )
            if target is None or isinstance(target, Reply):
                return [target] if target is not None else []
            takeover, topic = target
            results = await _work(uow, turn, deps, use_case, takeover)
            await uow.commit()
        return desk.into_topic(results, msg.chat_id, topic)

    handler.__name__ = handler.__qualname__ = f"{use_case.__name__}_in_topic"
    return handler


async def relay_to_agent(turn: Turn, deps: Deps) -> Sequence[Result]:
    """A customer whose chat an agent has taken over: the bot passes it on, nothing more."""
    assert turn.takeover is not None
    async with deps.uow() as uow:
        return await desk.customer_to_agent(
            uow, turn.msg, turn.customer, turn.takeover, deps.policies
        )
