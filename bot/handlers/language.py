"""/language: inline buttons to choose English, 简体中文 or 繁體中文."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.deps import Deps
from bot.core.dispatch import Result, Turn
from bot.core.messages import Button, CallbackAnswer, Reply
from bot.core.services.customers import choose_language

PREFIX = "lang:"


async def on_language(turn: Turn, deps: Deps) -> Sequence[Result]:
    buttons = tuple(
        (Button(f"language.name.{locale}", f"{PREFIX}{locale}"),)
        for locale in deps.renderer.locales
    )
    return [Reply("language.prompt", buttons=buttons)]


async def on_language_chosen(turn: Turn, deps: Deps) -> Sequence[Result]:
    assert turn.msg.callback_id is not None and turn.msg.callback_data is not None
    locale = turn.msg.callback_data.removeprefix(PREFIX)
    if locale not in deps.renderer.locales:
        return [CallbackAnswer(turn.msg.callback_id, "fallback.expired_button")]
    await choose_language(deps, turn.customer, locale)
    return [
        CallbackAnswer(turn.msg.callback_id, "language.saved_notice", locale=locale),
        Reply(
            "language.changed",
            {"name": turn.name},
            edit_message_id=turn.msg.message_id,
            locale=locale,
        ),
    ]
