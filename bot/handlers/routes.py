"""ROUTING: every update's way to its handler — the guards, then ``ROUTES``, first match wins.

The vocabulary (triggers, :class:`~bot.core.routing.Route`, :class:`~bot.core.routing.Guard`)
and the selection are in :mod:`bot.core.routing`; this module is the table. The dispatcher
applies it to every update of both frameworks; the adapters register nothing of their own.

Read it top to bottom:

* **Guards.** An agent at work (a roster member who uses a desk command, replies to a relayed
  message, or has a customer's chat taken over) is routed to the desk routes, never to the
  customer routes. A customer whose chat an agent has taken over is relayed to the agent,
  except for button presses (a rating, say), which keep their ordinary routes.
* **The staff group.** Ticket-card buttons, ``/plan``, messages in a ticket's topic, and staff
  tasks' cards (also in the supervisors' chat, where nothing else is acted on).
* **Private chats.** Commands, buttons (including a ticket card's buttons in a dedicated
  advisor's private chat, run as staff actions there too), then free text: the next step of
  the dialogue the chat is in, else a complaint when triage hears one, else a question.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core import profile as profile_rules
from bot.core import rating_prompts as prompts
from bot.core.campaigns import wizard as campaign_wizard
from bot.core.desk import DESK_COMMANDS
from bot.core.messages import Incoming
from bot.core.roles import Action
from bot.core.routing import (
    AnyCommand,
    AnyMessage,
    AnyText,
    Audience,
    Callback,
    Command,
    Contact,
    EditedMessage,
    Guard,
    Place,
    Route,
    Routing,
    Situation,
    TopicMessage,
    Trigger,
)
from bot.core.services import desk as desk_use
from bot.core.services.campaign_board import PREFIX as CAMPAIGN_PREFIX
from bot.core.services.tickets import ESCALATE_PREFIX, STAFF_PREFIX, TAKE_OVER_PREFIX
from bot.core.staff_tasks import PREFIX as TASK_PREFIX
from bot.core.surveys import PREFIX as SURVEY_PREFIX
from bot.flows import complaint as complaint_flow
from bot.flows import faq_confirm
from bot.flows import nps as nps_flow
from bot.flows import rating as rating_flow
from bot.handlers import (
    campaigns,
    complaints,
    consent,
    coupons,
    desk,
    language,
    linking,
    loyalty,
    profile,
    questions,
    ratings,
    staff,
    start,
    surveys,
    tasks,
)

STAFF = Audience.STAFF
GROUP = Place.STAFF_GROUP
PRIVATE = Place.PRIVATE
SUPERVISORS = Place.SUPERVISORS


def agent_at_work(msg: Incoming, situation: Situation) -> bool:
    """A roster member writing privately about desk work: a desk command, a reply (to a
    relayed customer message), or anything but a command or button while they have a chat
    taken over. Otherwise staff may use the bot as customers do."""
    if situation.place is not Place.PRIVATE or situation.member is None or msg.is_callback:
        return False
    if msg.command in DESK_COMMANDS or msg.reply_to_message_id is not None:
        return True
    return msg.command is None and situation.agent_chats > 0


def chat_taken_over(msg: Incoming, situation: Situation) -> bool:
    """A customer whose chat an agent has taken over (buttons keep their own routes)."""
    return situation.place is Place.PRIVATE and situation.taken_over and not msg.is_callback


CAMPAIGNS_REFUSED = "campaign_wizard.not_allowed"
"""Anyone whose role does not run campaigns (customers included) is told so courteously."""


def _campaigns(trigger: Trigger, handler: Callable[..., Any], flow: str | None = None) -> Route:
    """A campaign route: a private chat, marketing and admins only (checked and audited)."""
    return Route(
        trigger, handler, PRIVATE, STAFF, Action.CAMPAIGNS, flow=flow, refusal=CAMPAIGNS_REFUSED
    )


def _desk(command: str, handler: Callable[..., Any], action: Action) -> Route:
    return Route(Command(command), handler, audience=STAFF, action=action)


DESK_ROUTES: tuple[Route, ...] = (
    _desk("note", desk.in_private(desk_use.note), Action.NOTE),
    _desk("release", desk.in_private(desk_use.release), Action.RELEASE),
    _desk("resolve", desk.in_private(desk_use.resolve), Action.RESOLVE),
    _desk("transfer", desk.in_private(desk_use.transfer), Action.TRANSFER),
    Route(AnyMessage(), desk.in_private(desk_use.reply), audience=STAFF, action=Action.REPLY),
)

TAKEN_OVER_ROUTES: tuple[Route, ...] = (
    Route(AnyMessage(), desk.relay_to_agent),
    Route(EditedMessage(), desk.relay_to_agent),
)

GUARDS: tuple[Guard, ...] = (
    Guard("agent at work", agent_at_work, DESK_ROUTES),
    Guard("chat taken over", chat_taken_over, TAKEN_OVER_ROUTES),
)

ROUTES: tuple[Route, ...] = (
    # The staff group: ticket cards, the remediation plan, ticket topics.
    Route(Callback(STAFF_PREFIX), staff.on_ticket_action, GROUP, STAFF, Action.MOVE_TICKET),
    Route(Command("plan"), staff.on_plan, GROUP, STAFF, Action.REMEDIATION_PLAN),
    Route(Callback(TAKE_OVER_PREFIX), staff.on_take_over, GROUP, STAFF, Action.TAKE_OVER),
    Route(Callback(ESCALATE_PREFIX), staff.on_escalate, GROUP, STAFF, Action.ESCALATE),
    Route(Command("note"), desk.in_topic(desk_use.note), GROUP, STAFF, Action.NOTE),
    Route(Command("release"), desk.in_topic(desk_use.release), GROUP, STAFF, Action.RELEASE),
    Route(Command("resolve"), desk.in_topic(desk_use.resolve), GROUP, STAFF, Action.RESOLVE),
    Route(Command("transfer"), desk.in_topic(desk_use.transfer), GROUP, STAFF, Action.TRANSFER),
    Route(TopicMessage(), desk.in_topic(desk_use.reply), GROUP, STAFF, Action.REPLY),
    # Staff tasks' cards: in the staff group, the supervisors' chat, an advisor's private chat.
    Route(Callback(TASK_PREFIX), tasks.on_task_button, GROUP, STAFF, Action.WORK_TASK),
    Route(Callback(TASK_PREFIX), tasks.on_task_button, SUPERVISORS, STAFF, Action.WORK_TASK),
    # Private chats: commands.
    Route(Command("start", with_args=True), linking.on_start_token),
    Route(Command("start"), start.on_start),
    Route(Command("help"), start.on_help),
    Route(Command("language"), language.on_language),
    Route(Command("link"), linking.on_link),
    Route(Command("complaint"), complaints.on_complaint_command),
    Route(Command("status"), complaints.on_status),
    Route(Command("stop"), consent.on_stop),
    Route(Command("coupons"), coupons.on_coupons),
    Route(Command("points"), loyalty.on_points),
    _campaigns(Command("campaign"), campaigns.on_campaign),
    _campaigns(Command("campaigns"), campaigns.on_campaigns),
    # Private chats: buttons.
    Route(Callback(language.PREFIX), language.on_language_chosen),
    Route(Callback(faq_confirm.PREFIX), questions.on_faq_choice),
    Route(Callback(complaint_flow.PREFIX), complaints.on_complaint_button),
    Route(Callback(prompts.PREFIX), ratings.on_rating_button),
    Route(Callback(prompts.REVISIT_PREFIX), ratings.on_revisit_button),
    Route(Callback(consent.OPT_OUT_PREFIX), consent.on_opt_out_button),
    Route(Callback(consent.OPT_IN_PREFIX), consent.on_opt_in_button),
    Route(Callback(loyalty.PREFIX), loyalty.on_redeem_button),
    Route(Callback(SURVEY_PREFIX), surveys.on_survey_button),
    Route(Callback(profile_rules.PREFIX), profile.on_profile_button),
    # A ticket card's buttons in a dedicated advisor's private chat: the same staff actions,
    # for a roster member whose role allows them (checked and audited like in the group).
    Route(Callback(STAFF_PREFIX), staff.on_ticket_action, PRIVATE, STAFF, Action.MOVE_TICKET),
    Route(Callback(TAKE_OVER_PREFIX), staff.on_take_over, PRIVATE, STAFF, Action.TAKE_OVER),
    Route(Callback(ESCALATE_PREFIX), staff.on_escalate, PRIVATE, STAFF, Action.ESCALATE),
    Route(Callback(TASK_PREFIX), tasks.on_task_button, PRIVATE, STAFF, Action.WORK_TASK),
    # The /campaign wizard's and /campaigns' buttons (marketing and admins).
    _campaigns(Callback(campaign_wizard.PREFIX), campaigns.on_wizard_button),
    _campaigns(Callback(CAMPAIGN_PREFIX), campaigns.on_campaign_button),
    Route(Callback(""), questions.on_stale_button),
    Route(AnyCommand(), start.on_unknown_command),
    # Private chats: everything else.
    Route(EditedMessage(), start.on_edit),
    _campaigns(AnyText(), campaigns.on_wizard_text, flow=campaign_wizard.FLOW),
    Route(AnyText(), complaints.on_text, flow=complaint_flow.FLOW),
    Route(AnyText(), ratings.on_comment, flow=rating_flow.FLOW),
    Route(AnyText(), surveys.on_comment, flow=nps_flow.FLOW),
    Route(AnyText(), profile.on_zone_text, flow=profile_rules.FLOW),
    Route(AnyText(), complaints.on_complaint_text, complaint=True),
    Route(AnyText(), questions.on_question, complaint=False),
    Route(Contact(), linking.on_contact),
    Route(AnyMessage(), complaints.on_attachment, flow=complaint_flow.FLOW),
    Route(AnyMessage(), questions.on_attachment),
)

ROUTING = Routing(GUARDS, ROUTES)
"""The whole table, as the composition root hands it to the dispatcher."""
