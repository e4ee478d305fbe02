"""More of the agent desk: Escalate on the card, /transfer to a colleague, dedicated advisors
and the customer's tier on new tickets, through the real dispatcher, handlers and templates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.core.messages import ChatKind, ContentKind, Sender
from bot.core.models import Customer
from bot.core.records import TierInfo
from bot.core.roles import Role, can
from bot.core.routing import Audience, Callback, Place, Route
from bot.core.services.advisors import AdvisorError, advisor_of, assign, unassign
from bot.core.services.staff import enroll, withdraw
from bot.core.tickets import EventKind, Level, Ticket
from bot.core.tiers import Lifecycle, Tier
from bot.core.triage import Priority
from bot.handlers.routes import ROUTES
from tests.unit.conftest import ALICE, WANG, FakeBot
from tests.unit.test_complaints import STAFF_GROUP, complain
from tests.unit.test_desk import SAM, agent_says, relayed_to_agent, take_over

SUPERVISOR_CHAT, MANAGER_CHAT = 7001, 7002
KIM = Sender(id=9002, first_name="Kim", last_name="Park")
MIA = Sender(id=9003, first_name="Mia")  # marketing: may not take chats over


@pytest.fixture
async def desk(bot: FakeBot) -> FakeBot:
    bot.configure(
        staff_chat_id=STAFF_GROUP,
        supervisor_chat_id=SUPERVISOR_CHAT,
        manager_chat_id=MANAGER_CHAT,
    )
    async with bot.deps.uow() as uow:
        await enroll(uow, SAM.id, "Sam Lee", Role.AGENT, bot.clock.now())
        await enroll(uow, KIM.id, "Kim Park", Role.SUPERVISOR, bot.clock.now())
        await enroll(uow, MIA.id, "Mia Chen", Role.MARKETING, bot.clock.now())
        await uow.commit()
    return bot


def newest_ticket(bot: FakeBot) -> Ticket:
    return max(bot.uow.store.tickets.values(), key=lambda t: t.id or 0)


def customer_of(bot: FakeBot, who: Sender) -> Customer:
    return next(c for c in bot.uow.store.customers.values() if c.telegram_user_id == who.id)


async def press_in_group(bot: FakeBot, who: Sender, data: str, message_id: int = 70) -> None:
    await bot.feed(
        bot.incoming(
            who,
            chat_id=STAFF_GROUP,
            chat_kind=ChatKind.SUPERGROUP,
            callback_id=f"c{next(bot.update_ids)}",
            callback_data=data,
            content=ContentKind.CALLBACK,
            message_id=message_id,
        )
    )


def last_callback_text(bot: FakeBot) -> str | None:
    return bot.messenger.callbacks[-1][1]


# ---- Escalate ---------------------------------------------------------------------------


async def test_the_card_offers_escalate_next_to_take_over(desk: FakeBot) -> None:
    await complain(desk, ALICE, "the kettle arrived broken, I want a refund")
    ticket = newest_ticket(desk)
    card = desk.messenger.assert_sent("staff.ticket_card")
    assert [(b.text, b.data) for b in card.buttons[0]] == [
        ("Take over", f"tko:{ticket.id}"),
        ("Escalate", f"tke:{ticket.id}"),
    ]


async def test_escalate_moves_up_one_level_at_a_time_and_stops_at_the_top(
    desk: FakeBot,
) -> None:
    await complain(desk, ALICE, "the kettle arrived broken, I want a refund")
    ticket = newest_ticket(desk)
    assert ticket.level is Level.AGENT and ticket.id is not None
    desk.messenger.sent.clear()

    await press_in_group(desk, SAM, f"tke:{ticket.id}")
    assert desk.uow.store.tickets[ticket.id].level is Level.SUPERVISOR
    assert last_callback_text(desk) == f"{ticket.number} is now with a supervisor."
    notices = desk.messenger.sent_with("staff.escalated_by_staff")
    assert [n.chat_id for n in notices] == [STAFF_GROUP, SUPERVISOR_CHAT]
    assert "escalated by Sam" in notices[0].text and "a supervisor" in notices[0].text
    [edited] = desk.messenger.sent_with("staff.ticket_card")
    assert edited.edit_message_id == 70 and "with a supervisor" in edited.text

    desk.messenger.sent.clear()
    await press_in_group(desk, KIM, f"tke:{ticket.id}")
    assert desk.uow.store.tickets[ticket.id].level is Level.MANAGER
    notices = desk.messenger.sent_with("staff.escalated_by_staff")
    assert [n.chat_id for n in notices] == [STAFF_GROUP, SUPERVISOR_CHAT, MANAGER_CHAT]
    [edited] = desk.messenger.sent_with("staff.ticket_card")
    assert "tke:" not in str([b.data for row in edited.buttons for b in row])  # no higher level

    desk.messenger.sent.clear()
    await press_in_group(desk, KIM, f"tke:{ticket.id}")  # an older card still has the button
    assert (
        last_callback_text(desk)
        == "This ticket is already with a manager: there is no higher level."
    )
    assert not desk.messenger.sent
    escalations = [
        e
        for e in desk.uow.store.events
        if e.ticket_id == ticket.id and e.kind is EventKind.ESCALATED
    ]
    assert [(e.actor, e.data["from"], e.data["to"]) for e in escalations] == [
        (f"staff:{SAM.id}", "agent", "supervisor"),
        (f"staff:{KIM.id}", "supervisor", "manager"),
    ]


async def test_a_resolved_ticket_is_not_escalated(desk: FakeBot) -> None:
    ticket_id = await take_over(desk)
    await agent_says(desk, "/resolve done", command="resolve", args="done")
    await press_in_group(desk, SAM, f"tke:{ticket_id}")
    assert last_callback_text(desk) == "That step is not possible from the ticket's present state."
    assert desk.uow.store.tickets[ticket_id].level is Level.AGENT


async def test_marketing_may_not_escalate(desk: FakeBot) -> None:
    await complain(desk, ALICE, "the kettle arrived broken, I want a refund")
    ticket = newest_ticket(desk)
    await press_in_group(desk, MIA, f"tke:{ticket.id}")
    assert desk.uow.store.tickets[ticket.id or 0].level is Level.AGENT
    assert desk.uow.store.audits[-1].allowed is False


# ---- /transfer --------------------------------------------------------------------------


async def test_transfer_passes_the_chat_to_a_colleague(desk: FakeBot) -> None:
    ticket_id = await take_over(desk)
    desk.messenger.sent.clear()
    await agent_says(
        desk, "/transfer 9002 wants a refund", command="transfer", args="9002 wants a refund"
    )
    assert desk.uow.store.takeovers[ALICE.id].agent_user_id == KIM.id
    told = desk.messenger.assert_sent("desk.transferred")
    assert told.chat_id == ALICE.id and "Kim from our team is now helping you" in told.text
    mine = desk.messenger.assert_sent("desk.transferred_agent")
    assert mine.chat_id == SAM.id and "Kim Park" in mine.text
    theirs = desk.messenger.assert_sent("desk.transferred_to_you")
    assert theirs.chat_id == KIM.id and "Sam Lee" in theirs.text
    assert "kettle" in theirs.text and "wants a refund" in theirs.text
    [event] = [
        e
        for e in desk.uow.store.events
        if e.ticket_id == ticket_id and e.data and "transfer" in e.data
    ]
    assert event.actor == f"staff:{SAM.id}" and event.data["transfer"] == {
        "from": SAM.id,
        "to": KIM.id,
    }
    # From now on the customer reaches Kim, and Kim's replies reach the customer.
    await desk.say(ALICE, "Thanks, is the refund coming?")
    relay = desk.messenger.sent[-1]
    assert relay.chat_id == KIM.id and relay.template_key == "desk.from_customer"
    await desk.feed(desk.incoming(KIM, text="Yes, today.", reply_to_message_id=None))
    assert desk.messenger.sent[-1].chat_id == ALICE.id
    await agent_says(desk, "/release", command="release")  # Sam has no chat any more
    assert ALICE.id in desk.uow.store.takeovers
    assert desk.messenger.sent[-1].template_key == "desk.no_chat"


@pytest.mark.parametrize(
    ("args", "key", "says"),
    [
        ("", "desk.transfer_usage", "/transfer &lt;their Telegram user id&gt;"),
        ("kim", "desk.transfer_usage", "/transfer &lt;their Telegram user id&gt;"),
        ("4444", "desk.transfer_unknown", "4444 is not on the staff roster"),
        (str(SAM.id), "desk.transfer_self", "is already yours"),
        (str(MIA.id), "desk.transfer_not_allowed", "Mia Chen's role does not allow"),
    ],
)
async def test_a_transfer_that_cannot_be_done_changes_nothing(
    desk: FakeBot, args: str, key: str, says: str
) -> None:
    ticket_id = await take_over(desk)
    events = len(desk.uow.store.events)
    desk.messenger.sent.clear()
    await agent_says(desk, f"/transfer {args}".strip(), command="transfer", args=args)
    [notice] = desk.messenger.sent
    assert notice.chat_id == SAM.id and notice.template_key == key and says in notice.text
    assert desk.uow.store.takeovers[ALICE.id].agent_user_id == SAM.id
    assert len(desk.uow.store.events) == events
    assert desk.uow.store.tickets[ticket_id].state.value == "investigating"


async def test_nobody_off_the_roster_is_a_transfer_target(desk: FakeBot) -> None:
    await take_over(desk)
    async with desk.deps.uow() as uow:
        assert await withdraw(uow, KIM.id)
        await uow.commit()
    await agent_says(desk, "/transfer 9002", command="transfer", args="9002")
    assert desk.messenger.sent[-1].template_key == "desk.transfer_unknown"
    assert desk.uow.store.takeovers[ALICE.id].agent_user_id == SAM.id


async def test_with_two_chats_transfer_the_one_replied_to(desk: FakeBot) -> None:
    await take_over(desk, ALICE)
    await take_over(desk, WANG)
    await agent_says(desk, "/transfer 9002", command="transfer", args="9002")
    assert desk.messenger.sent[-1].template_key == "desk.which_customer"
    await desk.say(WANG, "还在吗")
    await agent_says(
        desk,
        "/transfer 9002",
        command="transfer",
        args="9002",
        reply_to=relayed_to_agent(desk)[-1],
    )
    assert desk.uow.store.takeovers[WANG.id].agent_user_id == KIM.id
    assert desk.uow.store.takeovers[ALICE.id].agent_user_id == SAM.id
    told = desk.messenger.sent_with("desk.transferred")[-1]
    assert told.chat_id == WANG.id and "Kim" in told.text and "现在由" in told.text


async def test_transfer_is_audited(desk: FakeBot) -> None:
    await take_over(desk)
    await agent_says(desk, "/transfer 9002", command="transfer", args="9002")
    entry = desk.uow.store.audits[-1]
    assert (entry.telegram_user_id, entry.action, entry.allowed) == (SAM.id, "transfer", True)


# ---- Dedicated advisors and tiers -------------------------------------------------------


async def a_customer(bot: FakeBot, who: Sender, tier: Tier | None = None) -> int:
    await bot.say(who, "/start")
    customer = customer_of(bot, who)
    assert customer.id is not None
    if tier is not None:
        bot.uow.store.standings[customer.id] = TierInfo(
            customer.id, tier, Lifecycle.ACTIVE, None, 5, 9, 90000, 5, 5, 5, date(2026, 11, 1)
        )
    return customer.id


async def test_only_someone_on_the_roster_can_be_an_advisor(desk: FakeBot) -> None:
    customer_id = await a_customer(desk, ALICE)
    async with desk.deps.uow() as uow:
        with pytest.raises(AdvisorError, match="not on the staff roster"):
            await assign(uow, customer_id, 4444)
        member = await assign(uow, customer_id, SAM.id)
        assert member.name == "Sam Lee"
        assert (await advisor_of(uow, customer_id)) == member
        await withdraw(uow, SAM.id)
        assert await advisor_of(uow, customer_id) is None  # off the roster: no longer counts
        assert await unassign(uow, customer_id)
        assert not await unassign(uow, customer_id)


async def test_a_high_tier_customers_ticket_goes_to_their_advisor_first(desk: FakeBot) -> None:
    desk.configure(quality_first_response_minutes=240, high_tier_first_response_minutes=60)
    customer_id = await a_customer(desk, ALICE, Tier.HIGH)
    async with desk.deps.uow() as uow:
        await assign(uow, customer_id, SAM.id)
        await uow.commit()
    desk.messenger.sent.clear()
    await complain(desk, ALICE, "the kettle arrived broken, I want a refund")
    ticket = newest_ticket(desk)
    # the tier raises priority (not severity) and caps the first-response time
    assert ticket.priority is Priority.HIGH and ticket.severity.value == "quality"
    assert ticket.first_response_due_at - ticket.created_at == timedelta(minutes=60)
    cards = desk.messenger.sent_with("staff.ticket_card")
    assert [c.chat_id for c in cards] == [SAM.id, STAFF_GROUP]
    assert cards[0].buttons == cards[1].buttons and "(high tier)" in cards[0].text
    opened = desk.messenger.assert_sent("complaint.opened")
    assert "Sam, your dedicated advisor, will respond" in opened.text


async def test_without_an_advisor_the_team_responds(desk: FakeBot) -> None:
    await a_customer(desk, ALICE)
    await complain(desk, ALICE, "the kettle arrived broken, I want a refund")
    ticket = newest_ticket(desk)
    assert ticket.priority is Priority.NORMAL
    opened = desk.messenger.assert_sent("complaint.opened")
    assert "A member of our team will respond" in opened.text
    assert [c.chat_id for c in desk.messenger.sent_with("staff.ticket_card")] == [STAFF_GROUP]


@pytest.mark.parametrize(
    ("who", "names"), [(WANG, "您的专属顾问 Sam"), (ALICE, "Sam, your dedicated advisor")]
)
async def test_the_advisor_is_named_in_the_customers_language(
    desk: FakeBot, who: Sender, names: str
) -> None:
    customer_id = await a_customer(desk, who, Tier.HIGH)
    async with desk.deps.uow() as uow:
        await assign(uow, customer_id, SAM.id)
        await uow.commit()
    text = "收到的水壶是坏的，我要退款" if who is WANG else "the kettle arrived broken"
    await complain(desk, who, text)
    assert names in desk.messenger.assert_sent("complaint.opened").text


async def test_the_advisor_works_the_card_from_their_private_chat(desk: FakeBot) -> None:
    customer_id = await a_customer(desk, ALICE, Tier.HIGH)
    async with desk.deps.uow() as uow:
        await assign(uow, customer_id, SAM.id)
        await uow.commit()
    await complain(desk, ALICE, "the kettle arrived broken, I want a refund")
    ticket = newest_ticket(desk)
    assert ticket.id is not None
    await desk.press(SAM, f"tke:{ticket.id}", message_id=55)  # in Sam's private chat
    assert desk.uow.store.tickets[ticket.id].level is Level.SUPERVISOR
    assert last_callback_text(desk) == f"{ticket.number} is now with a supervisor."
    edited = desk.messenger.sent_with("staff.ticket_card")[-1]
    assert (edited.chat_id, edited.edit_message_id) == (SAM.id, 55)
    await desk.press(SAM, f"tko:{ticket.id}", message_id=55)
    assert desk.uow.store.takeovers[ALICE.id].agent_user_id == SAM.id
    assert desk.messenger.assert_sent("desk.joined").chat_id == ALICE.id


STAFF_GROUP_PREFIXES = {
    r.trigger.prefix
    for r in ROUTES
    if r.place is Place.STAFF_GROUP and isinstance(r.trigger, Callback)
}
#: The ticket card's buttons as a dedicated advisor gets them in a private chat. (Other private
#: staff buttons, such as the campaign wizard's, have role matrices of their own.)
PRIVATE_STAFF_BUTTONS = [
    r
    for r in ROUTES
    if r.audience is Audience.STAFF
    and r.place is Place.PRIVATE
    and isinstance(r.trigger, Callback)
    and r.trigger.prefix in STAFF_GROUP_PREFIXES
]


def test_every_staff_button_also_works_in_a_private_chat() -> None:
    assert {r.trigger.prefix for r in PRIVATE_STAFF_BUTTONS} == STAFF_GROUP_PREFIXES  # type: ignore[union-attr]


@pytest.mark.parametrize("route", PRIVATE_STAFF_BUTTONS, ids=lambda r: r.action.value)
@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: r.value if r else "outsider")
async def test_each_private_staff_button_for_each_role(
    bot: FakeBot, route: Route, role: Role | None
) -> None:
    """The role matrix for the card buttons a dedicated advisor gets in a private chat."""
    assert isinstance(route.trigger, Callback) and route.action is not None
    who = Sender(id=8100 + (list(Role).index(role) if role else 99), first_name="Pat")
    if role is not None:
        async with bot.deps.uow() as uow:
            await enroll(uow, who.id, "Pat", role, bot.clock.now())
            await uow.commit()
    await bot.press(who, f"{route.trigger.prefix}999:investigating")
    allowed = can(role, route.action)
    [entry] = bot.uow.store.audits
    assert (entry.telegram_user_id, entry.action, entry.allowed) == (
        who.id,
        route.action.value,
        allowed,
    )
    refused = bot.deps.renderer.render("staff.not_allowed", "en")
    assert (bot.messenger.callbacks[-1][1] == refused) is not allowed
