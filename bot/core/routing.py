"""What decides which handler an update reaches: triggers, routes, guards and the situation.

One place routes. The table itself (``ROUTES`` and the guards beside it) lives in
:mod:`bot.handlers.routes`; this module holds the vocabulary and the one pure function,
:meth:`Routing.select`, that the dispatcher calls for every update of either framework. The
adapters register nothing of their own: they convert an update and hand it over, so both
frameworks route the same update the same way by construction.

Selection runs in two stages:

1. **Guards**, in order. A guard looks at the :class:`Situation` (what the dispatcher learnt
   about the sender and the chat in the update's first transaction) and, when it applies,
   claims the update for its own routes: "the sender is an agent at work in the desk",
   "the chat is taken over by an agent". A claimed update never falls through to the
   ordinary routes.
2. **Routes**, first match wins, each for one :class:`Place` (a private chat, or the staff
   group), optionally only while the chat is in a given dialogue (``flow``) or only for text
   that triage reads as a complaint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from bot.core.messages import ChatKind, ContentKind, Incoming
from bot.core.roles import Action, StaffMember


@dataclass(frozen=True, slots=True)
class Command:
    """``/name`` (also ``/name@thisbot``); with `with_args`, only when something follows the
    command (True) or nothing does (False)."""

    name: str
    with_args: bool | None = None


@dataclass(frozen=True, slots=True)
class Callback:
    """A button press whose payload starts with `prefix` (empty prefix: any button)."""

    prefix: str


@dataclass(frozen=True, slots=True)
class AnyCommand:
    """Any other ``/command``."""


@dataclass(frozen=True, slots=True)
class AnyText:
    """Plain text that is not a command."""


@dataclass(frozen=True, slots=True)
class Contact:
    """A shared contact (the phone-number button of a reply keyboard)."""


@dataclass(frozen=True, slots=True)
class EditedMessage:
    """A message edited after it was sent."""


@dataclass(frozen=True, slots=True)
class TopicMessage:
    """A message inside a forum topic (the staff group's ticket topics)."""


@dataclass(frozen=True, slots=True)
class AnyMessage:
    """Any other message: photo, document, voice, sticker, location…"""


Trigger = (
    Command | Callback | AnyCommand | AnyText | Contact | TopicMessage | EditedMessage | AnyMessage
)


def matches(trigger: Trigger, msg: Incoming) -> bool:
    """The meaning of each trigger, as a plain function."""
    match trigger:
        case Command(name, with_args):
            return (
                msg.command == name
                and not msg.edited
                and (with_args is None or with_args == bool(msg.args))
            )
        case Callback(prefix):
            return msg.is_callback and (msg.callback_data or "").startswith(prefix)
        case AnyCommand():
            return msg.command is not None and not msg.edited
        case AnyText():
            return (
                not msg.is_callback
                and not msg.edited
                and msg.command is None
                and msg.content is ContentKind.TEXT
            )
        case Contact():
            return not msg.is_callback and not msg.edited and msg.content is ContentKind.CONTACT
        case EditedMessage():
            return msg.edited
        case TopicMessage():
            return not msg.is_callback and not msg.edited and msg.is_topic_message
        case AnyMessage():
            return not msg.is_callback and not msg.edited
    return False


class Place(StrEnum):
    """Where an update comes from, as far as routing cares."""

    PRIVATE = "private"
    """A private chat with the bot (customers, and staff using the bot themselves)."""
    STAFF_GROUP = "staff_group"
    """The configured staff group."""
    SUPERVISORS = "supervisors"
    """A button pressed in the supervisors' chat (a staff task's card); nothing else there
    is acted on."""
    ELSEWHERE = "elsewhere"
    """Any other group or channel: never acted on."""


def place_of(msg: Incoming, staff_group: int | None, supervisor_chat: int | None = None) -> Place:
    if msg.chat_kind is ChatKind.PRIVATE:
        return Place.PRIVATE
    if staff_group is not None and msg.chat_id == staff_group:
        return Place.STAFF_GROUP
    if supervisor_chat is not None and msg.chat_id == supervisor_chat and msg.is_callback:
        return Place.SUPERVISORS
    return Place.ELSEWHERE


@dataclass(frozen=True, slots=True)
class Situation:
    """What the dispatcher knows when it routes an update, read in the update's first
    transaction: nothing here costs another query."""

    place: Place
    member: StaffMember | None = None
    """The sender, when they are on the staff roster."""
    agent_chats: int = 0
    """How many customer chats the sender (a roster member) has taken over."""
    taken_over: bool = False
    """A private chat that an agent has taken over."""
    flow: str | None = None
    """The dialogue the chat is in (``"complaint"``, ``"rating"``, ``"faq_confirm"``…)."""
    complaint: bool = False
    """Free text that triage reads as a complaint (only computed for free text outside any
    dialogue, where it decides between the complaint and FAQ routes)."""


class Audience(StrEnum):
    """Who a route's handler serves, which decides the turn it receives."""

    CUSTOMER = "customer"
    """A customer's private chat: the handler gets a customer turn."""
    STAFF = "staff"
    """A roster member acting as staff: the handler gets a staff turn, and the route must
    name the action, which the member's role must allow (checked and audited)."""


@dataclass(frozen=True, slots=True)
class Route:
    trigger: Trigger
    handler: Callable[..., Any]
    place: Place = Place.PRIVATE
    audience: Audience = Audience.CUSTOMER
    action: Action | None = None
    """For a staff route: the action performed, which the caller's role must allow."""
    flow: str | None = None
    """Only while the chat is in this dialogue."""
    complaint: bool | None = None
    """Only for text triage reads as a complaint (True) or not (False); None: either."""
    refusal: str | None = None
    """For a staff route: the template key that answers someone whose role does not allow
    the action — a typed message too, not only a pressed button (which otherwise gets
    ``staff.not_allowed``); in the sender's own language."""

    def __post_init__(self) -> None:
        if self.audience is Audience.STAFF and self.action is None:
            raise ValueError("a staff route must name the action it performs")

    def fits(self, msg: Incoming, situation: Situation) -> bool:
        return (
            self.place is situation.place
            and (self.flow is None or self.flow == situation.flow)
            and (self.complaint is None or self.complaint == situation.complaint)
            and matches(self.trigger, msg)
        )


@dataclass(frozen=True, slots=True)
class Guard:
    """A named condition that, when it holds, claims an update for its own routes."""

    name: str
    applies: Callable[[Incoming, Situation], bool]
    routes: tuple[Route, ...]


@dataclass(frozen=True, slots=True)
class Routing:
    """The guards, then the ordinary routes: the whole decision, in one pure function."""

    guards: tuple[Guard, ...]
    routes: tuple[Route, ...]

    def guard_for(self, msg: Incoming, situation: Situation) -> Guard | None:
        for guard in self.guards:
            if guard.applies(msg, situation):
                return guard
        return None

    def select(self, msg: Incoming, situation: Situation) -> Route | None:
        """The route for `msg`; None when nothing should handle it."""
        if situation.place is Place.ELSEWHERE:
            return None
        guard = self.guard_for(msg, situation)
        candidates = guard.routes if guard is not None else self.routes
        for route in candidates:
            if route.fits(msg, situation):
                return route
        return None

    def needs_triage(self, msg: Incoming, situation: Situation) -> bool:
        """Whether the choice depends on triage's reading of the text: the first route that
        fits, triage aside, asks for it. The dispatcher then classifies the text once and
        hands the decision on to the handler."""
        if situation.place is Place.ELSEWHERE or self.guard_for(msg, situation) is not None:
            return False
        either = (replace(situation, complaint=True), replace(situation, complaint=False))
        for route in self.routes:
            if any(route.fits(msg, s) for s in either):
                return route.complaint is not None
        return False
