"""ROUTES: the ordered table of what triggers which handler, registered by both adapters.

Each adapter translates a trigger into its framework's own filter (aiogram's ``Command`` and
``F.data.startswith``; PTB's ``CommandHandler`` and ``CallbackQueryHandler(pattern=…)``) in
this order, first match wins, fallbacks last. All routes serve private chats for now.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.dispatch import Handler, StaffHandler
from bot.core.messages import ChatKind, ContentKind, Incoming
from bot.core.roles import Action
from bot.core.services.tickets import ESCALATE_PREFIX, STAFF_PREFIX, TAKE_OVER_PREFIX
from bot.flows import complaint as complaint_flow
from bot.flows import faq_confirm
from bot.flows import rating as rating_flow
from bot.handlers import (
    complaints,
    language,
    linking,
    questions,
    ratings,
    staff,
    start,
    text,
)


@dataclass(frozen=True, slots=True)
class Command:
    """``/name`` (also ``/name@botname``)."""

    name: str


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
    """A customer edited a message they had sent."""


@dataclass(frozen=True, slots=True)
class TopicMessage:
    """A message inside a forum topic (the staff group's ticket topics)."""


@dataclass(frozen=True, slots=True)
class AnyMessage:
    """Any other message: photo, document, voice, sticker, location…"""


Trigger = (
    Command | Callback | AnyCommand | AnyText | Contact | TopicMessage | EditedMessage | AnyMessage
)


@dataclass(frozen=True, slots=True)
class Route:
    """A customer route (private chats) or, with `staff`, a staff route (the staff group)."""

    trigger: Trigger
    handler: Handler | StaffHandler
    staff: bool = False
    action: Action | None = None
    """For a staff route: the action it performs, which the caller's role must allow. (A
    customer route may name one too: a staff button in a private chat, checked by its
    handler.)"""

    def __post_init__(self) -> None:
        if self.staff and self.action is None:
            raise ValueError("a staff route must name the action it performs")


ROUTES: tuple[Route, ...] = (
    Route(Callback(STAFF_PREFIX), staff.on_ticket_action, staff=True, action=Action.MOVE_TICKET),
    Route(Command("plan"), staff.on_plan, staff=True, action=Action.REMEDIATION_PLAN),
    Route(Callback(TAKE_OVER_PREFIX), staff.on_take_over, staff=True, action=Action.TAKE_OVER),
    Route(Callback(ESCALATE_PREFIX), staff.on_escalate, staff=True, action=Action.ESCALATE),
    Route(TopicMessage(), staff.on_topic_message, staff=True, action=Action.REPLY),
    Route(Command("start"), start.on_start),
    Route(Command("help"), start.on_help),
    Route(Command("language"), language.on_language),
    Route(Command("link"), linking.on_link),
    Route(Command("complaint"), complaints.on_complaint_command),
    Route(Command("status"), complaints.on_status),
    Route(Callback(language.PREFIX), language.on_language_chosen),
    Route(Callback(faq_confirm.PREFIX), questions.on_faq_choice),
    Route(Callback(complaint_flow.PREFIX), complaints.on_complaint_button),
    Route(Callback(rating_flow.PREFIX), ratings.on_rating_button),
    Route(Callback(rating_flow.REVISIT_PREFIX), ratings.on_revisit_button),
    # A ticket card's buttons in a dedicated advisor's private chat (the handlers check the
    # roster and role themselves, as the dispatcher does for the staff group).
    Route(Callback(STAFF_PREFIX), staff.on_ticket_action_in_private, action=Action.MOVE_TICKET),
    Route(Callback(TAKE_OVER_PREFIX), staff.on_take_over_in_private, action=Action.TAKE_OVER),
    Route(Callback(ESCALATE_PREFIX), staff.on_escalate_in_private, action=Action.ESCALATE),
    Route(Callback(""), questions.on_stale_button),
    Route(AnyCommand(), start.on_unknown_command),
    Route(EditedMessage(), text.on_edit),
    Route(AnyText(), text.on_text),
    Route(Contact(), linking.on_contact),
    Route(AnyMessage(), text.on_attachment),
)


def matches(trigger: Trigger, msg: Incoming) -> bool:
    """The meaning of each trigger, as a plain function: the reference the adapters' filters
    implement, and what tests and fake adapters route with."""
    match trigger:
        case Command(name):
            return msg.command == name and not msg.edited
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


def select(msg: Incoming, routes: tuple[Route, ...] = ROUTES) -> Route | None:
    """The first route whose trigger matches, as the adapters register them: customer routes
    for private chats, staff routes for groups."""
    private = msg.chat_kind is ChatKind.PRIVATE
    for route in routes:
        if route.staff == (not private) and matches(route.trigger, msg):
            return route
    return None
