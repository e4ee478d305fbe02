"""A bot made of the real core, handlers and templates over fakes: no Telegram, no database."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest

from bot.app.bootstrap import build_language, build_triage
from bot.app.i18n import Renderer
from bot.app.policies import policies
from bot.app.settings import Settings
from bot.core.deps import Deps
from bot.core.dispatch import Dispatcher
from bot.core.messages import ChatKind, ContentKind, Incoming, Sender, Sent
from bot.core.ports import FaqMatch
from bot.core.triage import Triage
from bot.handlers.routes import ROUTING
from tests.fakes import FixedFaq, FrozenClock, MemoryUnitOfWorkFactory, RecordingMessenger

_LANGUAGE: dict[str, object] = {}
BASE_SETTINGS: dict[str, Any] = {"default_timezone": "Europe/London"}


def triage() -> Triage:
    """The real triage over the shipped lexicons (pure, loaded once)."""
    if "triage" not in _LANGUAGE:
        _LANGUAGE["triage"] = build_triage(Settings())
    return _LANGUAGE["triage"]  # type: ignore[return-value]


def language() -> Renderer:
    """Templates are loaded once per test session: they are read-only."""
    if "renderer" not in _LANGUAGE:
        _LANGUAGE["renderer"] = build_language(Settings())[0]
    return _LANGUAGE["renderer"]  # type: ignore[return-value]


def any_faq_id() -> str:
    keys = sorted(k for k in language().keys("en") if k.endswith(".answer"))
    return keys[0].split(".")[1]


@dataclass
class FakeBot:
    """Feeds updates through `select` + Dispatcher, as an adapter would."""

    deps: Deps
    uow: MemoryUnitOfWorkFactory
    messenger: RecordingMessenger
    clock: FrozenClock
    faq: FixedFaq
    dispatcher: Dispatcher
    update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    settings: dict[str, Any] = field(default_factory=lambda: dict(BASE_SETTINGS))

    def configure(self, **settings: Any) -> None:
        """Restarts the bot as a deployment with these settings (on top of those given so
        far) would run: new policies, a new dispatcher; the fakes and their data stay."""
        self.settings.update(settings)
        self.deps = replace(self.deps, policies=policies(Settings(**self.settings)))
        self.dispatcher = Dispatcher(self.deps, ROUTING)

    def incoming(self, sender: Sender, **fields: object) -> Incoming:
        base: dict[str, object] = {
            "update_id": next(self.update_ids),
            "chat_id": sender.id,
            "chat_kind": ChatKind.PRIVATE,
            "sender": sender,
            "date": self.clock.now(),
            "message_id": 1000 + len(self.messenger.sent),
        }
        base.update(fields)
        return Incoming(**base)  # type: ignore[arg-type]

    async def feed(self, msg: Incoming) -> list[Sent]:
        """Hands `msg` to the dispatcher, as both adapters do."""
        return await self.dispatcher.dispatch(msg)

    async def say(self, sender: Sender, text: str) -> list[Sent]:
        from bot.core.commands import parse_command

        parsed = parse_command(text)
        return await self.feed(
            self.incoming(
                sender,
                text=text,
                command=parsed[0] if parsed else None,
                args=parsed[1] if parsed else "",
            )
        )

    async def press_in_group(
        self, sender: Sender, group: int, data: str, message_id: int = 70
    ) -> list[Sent]:
        """`sender` presses a button with `data` on a bot message in the (staff) group."""
        return await self.feed(
            self.incoming(
                sender,
                chat_id=group,
                chat_kind=ChatKind.SUPERGROUP,
                callback_id=f"cb{next(self.update_ids)}",
                callback_data=data,
                content=ContentKind.CALLBACK,
                message_id=message_id,
            )
        )

    async def press(self, sender: Sender, data: str, message_id: int = 1) -> list[Sent]:
        return await self.feed(
            self.incoming(
                sender,
                callback_id=f"cb{next(self.update_ids)}",
                callback_data=data,
                content=ContentKind.CALLBACK,
                message_id=message_id,
            )
        )


@pytest.fixture
def bot() -> FakeBot:
    uow = MemoryUnitOfWorkFactory()
    messenger = RecordingMessenger()
    clock = FrozenClock()
    faq = FixedFaq()
    deps = Deps(
        policies=policies(Settings(**BASE_SETTINGS)),
        uow=uow,
        renderer=language(),
        faq=faq,
        triage=triage(),
        clock=clock,
        messenger=messenger,
    )
    return FakeBot(deps, uow, messenger, clock, faq, Dispatcher(deps, ROUTING))


ALICE = Sender(id=501, first_name="Alice", last_name="Smith", username="alice", language_code="en")
WANG = Sender(id=502, first_name="王芳", language_code="zh-CN")
CHAN = Sender(id=503, first_name="陳大文", language_code="zh-HK")

ANSWER = FaqMatch("answer", None, 95.0, "en")
ONE_HOUR = timedelta(hours=1)
