"""Profile completion from the customer's side: the buttons of a profile question (a language,
a time zone, "Type it", "Link my account", "Not now") and a time zone typed after "Type it".

The rules are :mod:`bot.core.profile`, the use cases :mod:`bot.core.services.profile`. "Link my
account" hands over to the existing linking flow (:func:`bot.handlers.linking.on_link`). The
answered question is edited to say what was kept, and loses its buttons.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import profile
from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.messages import CallbackAnswer, Reply
from bot.core.profile import ProfileField
from bot.core.services.dialogues import end_dialogue
from bot.core.services.profile import give, not_now, start_typing_zone
from bot.handlers import linking, questions


async def on_profile_button(turn: Turn, deps: Deps) -> Sequence[Result]:
    """``pf:…`` under a profile question (see :mod:`bot.core.profile` for the data)."""
    msg = turn.msg
    assert msg.callback_id is not None
    press = profile.parse(msg.callback_data or "")
    if press is None:
        return [CallbackAnswer(msg.callback_id, "fallback.expired_button")]
    done = CallbackAnswer(msg.callback_id)
    edit = msg.message_id
    if press.field is None:
        await not_now(deps, turn.customer)
        return [done, Reply("profile.later", {"name": turn.name}, edit_message_id=edit)]
    if press.type_zone:
        await start_typing_zone(deps, turn.customer)
        return [done, Reply("profile.type_zone", edit_message_id=edit)]
    given = await give(deps, turn.customer, press.field, press.value)
    if not given.kept:
        return [CallbackAnswer(msg.callback_id, "fallback.expired_button")]
    if press.field is ProfileField.LINK:
        chosen = Reply("profile.link_chosen", {"name": turn.name}, edit_message_id=edit)
        return [done, chosen, *await linking.on_link(turn, deps)]
    if press.field is ProfileField.LANGUAGE:
        saved = Reply(
            "language.changed", {"name": turn.name}, edit_message_id=edit, locale=given.locale
        )
    else:
        saved = Reply(
            "profile.zone_saved", {"name": turn.name, "zone": given.value}, edit_message_id=edit
        )
    return [done, saved, *([given.next] if given.next else [])]


async def on_zone_text(turn: Turn, deps: Deps) -> Sequence[Result]:
    """The customer's text after "Type it": their time zone, kept when it is an IANA zone and
    courteously corrected when not. A text that is no attempt at a zone (a question) ends the
    typing and is answered as any message."""
    text = turn.msg.text or ""
    if not profile.may_be_zone(text):
        await end_dialogue(deps, turn.msg.chat_id)
        return await questions.on_question(turn, deps)
    given = await give(deps, turn.customer, ProfileField.TIMEZONE, text)
    if not given.kept:
        buttons = profile.zone_buttons(deps.policies.profile)
        params = {"name": turn.name, "text": text.strip()}
        return [Reply("profile.zone_invalid", params, buttons=buttons)]
    saved = Reply("profile.zone_saved", {"name": turn.name, "zone": given.value})
    return [saved, *([given.next] if given.next else [])]
