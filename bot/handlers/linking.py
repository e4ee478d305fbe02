"""Linking a Telegram user to the shop's customer record: ``/start <token>``, ``/link`` (asks
for the phone number with a contact button) and a shared contact."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.messages import Reply
from bot.core.services.linking import link_with_contact, link_with_token


async def on_start_token(turn: Turn, deps: Deps) -> Sequence[Result]:
    """``/start <token>``: a deep link from the shop (t.me/<bot>?start=<token>)."""
    outcome = await link_with_token(deps, turn.customer, turn.msg.args)
    return [Reply(f"customers.link.{outcome.value}", {"name": turn.name})]


async def on_link(turn: Turn, deps: Deps) -> Sequence[Result]:
    return [
        Reply(
            "customers.contact.ask",
            {"name": turn.name},
            request_contact_key="customers.contact.button",
        )
    ]


async def on_contact(turn: Turn, deps: Deps) -> Sequence[Result]:
    outcome = await link_with_contact(
        deps, turn.customer, turn.msg.contact_phone, turn.msg.contact_user_id
    )
    return [Reply(f"customers.link.{outcome.value}", {"name": turn.name}, remove_keyboard=True)]
