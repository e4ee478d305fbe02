"""Use cases on a chat's stored dialogue state: save it, or end it.

A dialogue's state (:class:`~bot.core.models.Conversation`) lives in the database so any worker
can continue it; these are the units of work that change it when nothing else changes with it.
"""

from __future__ import annotations

from bot.core.deps import Deps
from bot.core.models import Conversation


async def save_dialogue(deps: Deps, conversation: Conversation) -> None:
    async with deps.uow() as uow:
        await uow.conversations.save(conversation)
        await uow.commit()


async def end_dialogue(deps: Deps, chat_id: int) -> None:
    async with deps.uow() as uow:
        await uow.conversations.clear(chat_id)
        await uow.commit()
