"""Scripted customers played against the emulator: the demo's show and the e2e tests' script.

A :class:`Persona` is a simulated Telegram user with a list of steps (say something, press a
button, send a photo). :func:`play` runs them against a running bot and returns the
transcript; after each step it waits until the bot has answered and gone quiet.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox import Emulator, SimChat, SimUser

_LOOK_EVERY = 0.005
"""Seconds between two looks at whether the bot has finished a step."""

# Requests that are the bot speaking (as opposed to polling or housekeeping).
OUTPUT_METHODS = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
        "copyMessage",
        "forwardMessage",
        "sendPhoto",
        "sendDocument",
        "createForumTopic",
        "editForumTopic",
        "closeForumTopic",
        "reopenForumTopic",
    }
)


@dataclass(frozen=True, slots=True)
class Say:
    text: str


@dataclass(frozen=True, slots=True)
class Press:
    """Press the button whose label contains `label` on the bot's latest message with one."""

    label: str


@dataclass(frozen=True, slots=True)
class SendPhoto:
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class StaffPress:
    """A staff member presses the button labelled `label` on the latest card with one in the
    staff group (see `play`'s `staff`)."""

    label: str


@dataclass(frozen=True, slots=True)
class StaffSay:
    """The staff member writes `text` in their private chat with the bot (the desk's direct
    mode); with `reply` they reply to the latest message the bot relayed to them."""

    text: str
    reply: bool = False


Step = Say | Press | SendPhoto | StaffPress | StaffSay


@dataclass(frozen=True, slots=True)
class Staff:
    """The staff group and the member of it who acts in `StaffPress` steps."""

    group: SimChat
    member: SimUser


@dataclass(frozen=True, slots=True)
class Persona:
    first_name: str
    language_code: str
    steps: tuple[Step, ...]
    last_name: str | None = None
    username: str | None = None


@dataclass(slots=True)
class Transcript:
    """What was said, in order, and the simulated user behind each persona's first name."""

    lines: list[Line] = field(default_factory=list)
    users: dict[str, SimUser] = field(default_factory=dict)

    def bot_texts(self) -> list[str]:
        return [line.text for line in self.lines if line.who.startswith("bot")]


@dataclass(slots=True)
class Line:
    """One line of the transcript: who spoke, the visible text, and any buttons."""

    who: str
    text: str
    buttons: list[str] = field(default_factory=list)
    method: str = ""

    def render(self) -> str:
        pad = "    "
        body = self.text.replace("\n", "\n" + pad)
        buttons = "  ".join(f"[ {b} ]" for b in self.buttons)
        return f"{self.who}:\n{pad}{body}" + (f"\n{pad}{buttons}" if buttons else "")


def visible(text: str) -> str:
    """Telegram HTML as a reader sees it: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _button_labels(markup: Any) -> list[str]:
    if not isinstance(markup, dict):
        return []
    return [b.get("text", "") for row in markup.get("inline_keyboard", []) for b in row]


def find_button(emu: Emulator, chat_id: int, label: str) -> tuple[int, str]:
    for message in reversed(emu.bot_messages(chat_id)):
        markup = message.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if label.casefold() in button.get("text", "").casefold():
                    return int(message["message_id"]), str(button["callback_data"])
    raise LookupError(f"no button labelled {label!r} in chat {chat_id}")


async def settle(
    emu: Emulator,
    since: int,
    quiet: float,
    timeout: float,
    idle: Callable[[], bool] | None = None,
) -> None:
    """Waits until the bot has answered what was sent after request index `since`: it has made
    an output request since, no update is waiting for it, `idle()` (the bot's own "nothing in
    hand") holds, and no further output came for `quiet` seconds (real ones: the bot's work
    between requests takes real time, whatever clock it goes by)."""
    deadline = time.monotonic() + timeout
    outputs, last_output = 0, time.monotonic()
    while time.monotonic() < deadline:
        count = sum(1 for r in emu.requests[since:] if r.method in OUTPUT_METHODS)
        if count != outputs:
            outputs, last_output = count, time.monotonic()
        calm = emu.pending_updates() == 0 and (idle is None or idle())
        if outputs and calm and time.monotonic() - last_output >= quiet:
            return
        await asyncio.sleep(_LOOK_EVERY)
    raise TimeoutError(f"the bot did not answer within {timeout}s")


def _lines_from(emu: Emulator, since: int, staff: Staff | None) -> list[Line]:
    staff_chat = staff.group.id if staff else None
    lines = []
    for request in emu.requests[since:]:
        if request.status != 200:
            continue
        if request.method == "copyMessage":
            who = "bot copies a message" + (
                f" → {staff.member.first_name} (private)"
                if staff and request.chat_id == staff.member.id
                else " → customer"
            )
            caption = request.params.get("caption")
            lines.append(
                Line(who=who, text=visible(str(caption)) if caption else "(the message, copied)")
            )
            continue
        if request.method not in ("sendMessage", "editMessageText"):
            continue
        params = request.params
        who = "bot" if request.method == "sendMessage" else "bot (edits its message)"
        if staff is not None and request.chat_id == staff.member.id:
            who = f"bot → {staff.member.first_name} (private)"
        if staff_chat is not None and request.chat_id == staff_chat:
            who = (
                "bot → staff group"
                if request.method == "sendMessage"
                else ("bot → staff group (edits the card)")
            )
        lines.append(
            Line(
                who=who,
                text=visible(str(params.get("text", ""))),
                buttons=_button_labels(params.get("reply_markup")),
                method=request.method,
            )
        )
    return lines


async def play(
    emu: Emulator,
    personas: Sequence[Persona],
    *,
    on_line: Callable[[Line], None] | None = None,
    idle: Callable[[], bool] | None = None,
    staff: Staff | None = None,
    quiet: float | None = None,
    timeout: float = 15.0,
) -> Transcript:
    """Plays every persona's steps in turn and returns the whole transcript. Pass
    `idle` (e.g. ``lambda: app.dispatcher.in_flight == 0``) so a step is only over when the
    bot has finished with it, even if it had to wait out a flood limit.

    A step is over once the bot has gone `quiet` seconds without output. Without `idle` that
    silence is the only sign the bot has finished, so it lasts a while (0.15 s); with `idle`
    the bot says so itself, and the silence only covers the moment between the framework
    receiving an update and handing it to the bot (0.03 s)."""
    if quiet is None:
        quiet = 0.15 if idle is None else 0.03
    transcript = Transcript()

    def emit(line: Line) -> None:
        transcript.lines.append(line)
        if on_line is not None:
            on_line(line)

    for persona in personas:
        user: SimUser = emu.add_user(
            persona.first_name,
            last_name=persona.last_name,
            username=persona.username,
            language_code=persona.language_code,
        )
        transcript.users[persona.first_name] = user
        for step in persona.steps:
            since = len(emu.requests)
            match step:
                case Say(text):
                    emit(Line(persona.first_name, text))
                    await emu.send_text(user, text)
                case Press(label):
                    message_id, data = find_button(emu, user.id, label)
                    emit(Line(persona.first_name, f"(presses “{label}”)"))
                    await emu.press_button(user, message_id, data)
                case SendPhoto(caption):
                    emit(Line(persona.first_name, f"(sends a photo) {caption or ''}".strip()))
                    await emu.send_message(user, photo=True, caption=caption)
                case StaffSay(text, reply):
                    if staff is None:
                        raise ValueError("a StaffSay step needs play(..., staff=Staff(...))")
                    replied = None
                    if reply:
                        relayed = emu.bot_messages(staff.member.id)
                        replied = relayed[-1]["message_id"] if relayed else None
                    emit(Line(f"{staff.member.first_name} (staff, private chat)", text))
                    await emu.send_message(staff.member, text=text, reply_to_message_id=replied)
                case StaffPress(label):
                    if staff is None:
                        raise ValueError("a StaffPress step needs play(..., staff=Staff(...))")
                    message_id, data = find_button(emu, staff.group.id, label)
                    emit(Line(f"{staff.member.first_name} (staff)", f"(presses “{label}”)"))
                    await emu.press_button(staff.member, message_id, data, chat=staff.group)
            await settle(emu, since, quiet, timeout, idle)
            for line in _lines_from(emu, since, staff):
                emit(line)
    return transcript
