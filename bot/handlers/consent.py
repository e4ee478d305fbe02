"""Marketing consent in the chat: the opt-out button on every marketing message, ``/stop``,
and the "receive offers again" button under the confirmation (``/start`` brings a customer
who opted out back too: :mod:`bot.handlers.start`). Every answer says that service messages
keep coming."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.consent import OPT_IN_DATA, OPT_OUT_DATA, ConsentSource
from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.messages import Button, CallbackAnswer, Reply
from bot.core.services.consent import set_marketing_consent

OPT_OUT_PREFIX = OPT_OUT_DATA
OPT_IN_PREFIX = OPT_IN_DATA
OPT_IN_BUTTON = Button("consent.opt_in_button", OPT_IN_DATA)


def _opted_out(turn: Turn) -> Reply:
    return Reply("consent.opted_out", {"name": turn.name}, buttons=((OPT_IN_BUTTON,),))


async def on_stop(turn: Turn, deps: Deps) -> Sequence[Result]:
    await set_marketing_consent(deps, turn.customer, False, ConsentSource.STOP)
    return [_opted_out(turn)]


async def on_opt_out_button(turn: Turn, deps: Deps) -> Sequence[Result]:
    assert turn.msg.callback_id is not None
    await set_marketing_consent(deps, turn.customer, False, ConsentSource.BUTTON)
    return [CallbackAnswer(turn.msg.callback_id, "consent.opted_out_notice"), _opted_out(turn)]


async def on_opt_in_button(turn: Turn, deps: Deps) -> Sequence[Result]:
    assert turn.msg.callback_id is not None
    await set_marketing_consent(deps, turn.customer, True, ConsentSource.BUTTON)
    return [
        CallbackAnswer(turn.msg.callback_id, "consent.opted_in_notice"),
        Reply("consent.opted_in", {"name": turn.name}, edit_message_id=turn.msg.message_id),
    ]
