"""Complaints end to end through the real core, handlers, triage and templates, over fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.core.messages import ChatKind, ContentKind, Sender
from bot.core.roles import Role
from bot.core.services.sla_sweep import sweep
from bot.core.services.staff import enroll
from bot.core.tickets import EventKind, Level, TicketState
from bot.core.triage import Severity
from tests.fakes import RecordingScheduler
from tests.unit.conftest import ALICE, CHAN, WANG, FakeBot

STAFF_GROUP = -100500
SUPERVISOR, MANAGER = 7001, 7002
SAM = Sender(id=9001, first_name="Sam")


@pytest.fixture
async def desk(bot: FakeBot) -> FakeBot:
    bot.configure(
        staff_chat_id=STAFF_GROUP, supervisor_chat_id=SUPERVISOR, manager_chat_id=MANAGER
    )
    async with bot.deps.uow() as uow:
        await enroll(uow, SAM.id, "Sam", Role.SUPERVISOR, bot.clock.now())
        await uow.commit()
    return bot


async def complain(
    bot: FakeBot, who: Sender, text: str, *, order: str | None = None, photo: bool = False
) -> None:
    await bot.say(who, text)
    await bot.press(who, "cp:yes")
    if order:
        await bot.say(who, order)
    else:
        await bot.press(who, "cp:skip")
    if photo:
        await bot.feed(bot.incoming(who, content=ContentKind.PHOTO, file_id="PHOTO-1"))
    await bot.press(who, "cp:done")


@pytest.mark.parametrize(
    ("who", "text", "apology", "opened"),
    [
        (ALICE, "the kettle arrived broken, I want a refund", "I am so sorry", "opened ticket"),
        (WANG, "收到的水壶是坏的，我要退款", "非常抱歉", "已为您创建工单"),
        (CHAN, "水壺壞了，要求退貨", "非常抱歉", "已為您建立工單"),
    ],
)
async def test_an_unlabelled_complaint_is_confirmed_then_ticketed_as_quality(
    desk: FakeBot, who: Sender, text: str, apology: str, opened: str
) -> None:
    await desk.say(who, text)
    confirm = desk.messenger.assert_sent("complaint.confirm")
    assert confirm.text.startswith(apology.split()[0]) or apology in confirm.text
    assert [b.data for b in confirm.buttons[0]] == ["cp:yes", "cp:no"]
    assert not desk.uow.store.tickets  # nothing is logged before the customer confirms
    await desk.press(who, "cp:yes")
    await desk.say(who, "#10234")
    await desk.feed(desk.incoming(who, content=ContentKind.PHOTO, file_id="PHOTO-1"))
    await desk.press(who, "cp:done")
    [ticket] = desk.uow.store.tickets.values()
    assert ticket.severity is Severity.QUALITY and ticket.level is Level.AGENT
    assert ticket.order_ref == "10234" and ticket.attachments == ["PHOTO-1"]
    assert ticket.first_response_due_at - ticket.created_at == timedelta(hours=2)
    reply = desk.messenger.assert_sent("complaint.opened")
    assert opened in reply.text and ticket.number in reply.text
    card = desk.messenger.assert_sent("staff.ticket_card")
    assert card.chat_id == STAFF_GROUP and ticket.number in card.text
    assert "Why:" in card.text and ticket.signals  # staff see why triage decided so


async def test_a_major_complaint_goes_to_supervisor_and_manager_on_a_15_minute_clock(
    desk: FakeBot,
) -> None:
    await complain(
        desk,
        ALICE,
        "Your heater caught fire and burned my hand. My lawyer will take you to court.",
    )
    [ticket] = desk.uow.store.tickets.values()
    assert ticket.severity is Severity.MAJOR and ticket.level is Level.SUPERVISOR
    assert ticket.first_response_due_at - ticket.created_at == timedelta(minutes=15)
    cards = [m.chat_id for m in desk.messenger.sent if m.template_key == "staff.ticket_card"]
    assert sorted(cards) == sorted([STAFF_GROUP, SUPERVISOR, MANAGER])
    assert "senior manager" in desk.messenger.assert_sent("complaint.opened").text


async def test_the_third_contact_about_an_open_issue_raises_severity(desk: FakeBot) -> None:
    await complain(desk, ALICE, "my parcel is late again, really annoying")
    [ticket] = desk.uow.store.tickets.values()
    start = ticket.severity
    await desk.say(ALICE, "still waiting for my parcel, nobody answers")
    await desk.say(ALICE, "it is ridiculous, my parcel is still late")
    [ticket] = desk.uow.store.tickets.values()
    assert ticket.contacts == 3 and ticket.severity > start
    assert desk.messenger.template_keys().count("complaint.contact_added") == 2
    assert "raised its priority" in desk.messenger.sent_with("complaint.contact_added")[-1].text
    kinds = [e.kind for e in desk.uow.store.events if e.ticket_id == ticket.id]
    assert EventKind.SEVERITY_RAISED in kinds


async def test_a_legal_threat_about_an_open_complaint_makes_it_major(desk: FakeBot) -> None:
    await complain(desk, CHAN, "水壺壞了，要求退貨")
    await desk.say(CHAN, "我已經找了律師，準備起訴你們，還會向消委會投訴")
    [ticket] = desk.uow.store.tickets.values()
    assert ticket.severity is Severity.MAJOR and ticket.level is Level.SUPERVISOR
    assert ticket.first_response_due_at - desk.clock.now() <= timedelta(minutes=15)
    alerts = {m.chat_id for m in desk.messenger.sent_with("staff.severity_raised")}
    assert alerts == {STAFF_GROUP, SUPERVISOR, MANAGER}


async def test_no_lets_the_customer_explain_in_their_own_words(desk: FakeBot) -> None:
    await desk.say(ALICE, "the kettle arrived broken, I want a refund")
    await desk.press(ALICE, "cp:no")
    desk.messenger.assert_sent("complaint.ask_description")
    await desk.say(ALICE, "actually the lid is missing from the box")
    assert desk.messenger.sent[-1].template_key == "complaint.confirm"


async def test_complaint_command_and_an_unreadable_order_number(desk: FakeBot) -> None:
    await desk.say(WANG, "/complaint")
    desk.messenger.assert_sent("complaint.ask_description")
    await desk.say(WANG, "包裹少了一件")
    await desk.press(WANG, "cp:yes")
    await desk.say(WANG, "不知道订单号")
    assert desk.messenger.sent[-1].template_key == "complaint.order_invalid"
    await desk.press(WANG, "cp:skip")
    await desk.press(WANG, "cp:skip")
    assert len(desk.uow.store.tickets) == 1


async def test_status_lists_open_tickets(desk: FakeBot) -> None:
    await desk.say(CHAN, "/status")
    assert desk.messenger.sent[-1].template_key == "complaint.status_none"
    await complain(desk, CHAN, "水壺壞了，要求退貨")
    await desk.say(CHAN, "/status")
    text = desk.messenger.sent[-1].text
    assert "T-" in text and "已收到" in text


async def staff_press(bot: FakeBot, data: str) -> None:
    await bot.feed(
        bot.incoming(
            SAM,
            chat_id=STAFF_GROUP,
            chat_kind=ChatKind.SUPERGROUP,
            callback_id="s1",
            callback_data=data,
            content=ContentKind.CALLBACK,
            message_id=55,
        )
    )


async def test_staff_moves_a_ticket_and_the_customer_hears_of_every_visible_step(
    desk: FakeBot,
) -> None:
    await complain(desk, ALICE, "the kettle arrived broken, I want a refund")
    [ticket] = desk.uow.store.tickets.values()
    for action in ("investigating", "proposed", "resolved", "closed"):
        await staff_press(desk, f"tk:{ticket.id}:{action}")
    updates = [
        m.template_key
        for m in desk.messenger.sent
        if m.chat_id == ALICE.id and m.template_key.startswith("ticket.update.")
    ]
    assert updates == [
        "ticket.update.investigating",
        "ticket.update.solution_proposed",
        "ticket.update.resolved",
        "ticket.update.closed",
    ]
    [ticket] = desk.uow.store.tickets.values()
    history = [(e.kind, e.to_state) for e in desk.uow.store.events if e.ticket_id == ticket.id]
    assert [state for _, state in history if state] == [
        TicketState.RECEIVED,
        TicketState.ACKNOWLEDGED,
        TicketState.INVESTIGATING,
        TicketState.SOLUTION_PROPOSED,
        TicketState.RESOLVED,
        TicketState.CLOSED,
    ]
    assert (EventKind.FIRST_RESPONSE, None) in history
    assert ticket.first_response_at is not None and ticket.closed_at is not None
    edited = [m for m in desk.messenger.sent if m.edit_message_id == 55]
    assert edited and edited[-1].buttons == ()  # a closed ticket's card offers nothing


async def test_a_major_ticket_is_not_resolved_without_a_plan(desk: FakeBot) -> None:
    await complain(desk, ALICE, "your product caught fire and injured my child")
    [ticket] = desk.uow.store.tickets.values()
    await staff_press(desk, f"tk:{ticket.id}:resolved")
    assert (
        desk.messenger.callbacks[-1][1] and "remediation plan" in desk.messenger.callbacks[-1][1]
    )
    assert desk.uow.store.tickets[ticket.id or 0].state is TicketState.ACKNOWLEDGED
    plan = "Recall batch 7, refund in full, a senior manager calls the customer today."
    await desk.feed(
        desk.incoming(
            SAM,
            chat_id=STAFF_GROUP,
            chat_kind=ChatKind.SUPERGROUP,
            text=f"/plan {ticket.number} {plan}",
            command="plan",
            args=f"{ticket.number} {plan}",
        )
    )
    assert desk.messenger.sent[-1].template_key == "staff.plan_recorded"
    await staff_press(desk, f"tk:{ticket.id}:resolved")
    stored = desk.uow.store.tickets[ticket.id or 0]
    assert stored.state is TicketState.RESOLVED and stored.remediation_plan == plan


async def test_staff_buttons_from_another_group_do_nothing(desk: FakeBot) -> None:
    await complain(desk, ALICE, "the kettle arrived broken, I want a refund")
    [ticket] = desk.uow.store.tickets.values()
    await desk.feed(
        desk.incoming(
            SAM,
            chat_id=-100999,
            chat_kind=ChatKind.SUPERGROUP,
            callback_id="x",
            callback_data=f"tk:{ticket.id}:resolved",
            content=ContentKind.CALLBACK,
        )
    )
    assert desk.uow.store.tickets[ticket.id or 0].state is TicketState.ACKNOWLEDGED


async def test_sla_warning_at_80_percent_and_escalation_on_breach_each_once(
    desk: FakeBot,
) -> None:
    await complain(desk, ALICE, "the kettle arrived broken, I want a refund")
    [ticket] = desk.uow.store.tickets.values()
    desk.clock.advance(95 * 60)
    assert (await sweep(desk.deps))[1] == []
    desk.clock.advance(60)  # 96 minutes: 80 % of two hours
    report, notices = await sweep(desk.deps)
    assert report.warnings == 1 and [n.key for n in notices] == ["staff.sla_warning"]
    assert (await sweep(desk.deps))[1] == []  # asking again does nothing
    desk.clock.advance(24 * 60)
    report, notices = await sweep(desk.deps)
    assert report.escalations == 1
    assert {n.chat_id for n in notices} == {STAFF_GROUP, SUPERVISOR}
    assert desk.uow.store.tickets[ticket.id or 0].level is Level.SUPERVISOR
    desk.clock.advance(24 * 3600)  # the resolution target passes too
    report, _ = await sweep(desk.deps)
    assert report.escalations == 1
    assert desk.uow.store.tickets[ticket.id or 0].level is Level.MANAGER
    kinds = [e.kind for e in desk.uow.store.events if e.ticket_id == ticket.id]
    assert kinds.count(EventKind.ESCALATED) == 2 and kinds.count(EventKind.SLA_WARNING) >= 1


async def test_an_enquiry_about_refunds_is_not_a_complaint(desk: FakeBot) -> None:
    await desk.say(ALICE, "what is your refund policy?")
    assert "complaint.confirm" not in desk.messenger.template_keys()


async def test_the_staff_resolve_button_schedules_the_after_sales_revisit(desk: FakeBot) -> None:
    scheduler = RecordingScheduler()
    desk.dispatcher.deps = replace(desk.dispatcher.deps, scheduler=scheduler)
    await complain(desk, ALICE, "the kettle arrived broken, I want a refund")
    [ticket] = desk.uow.store.tickets.values()
    await staff_press(desk, f"tk:{ticket.id}:resolved")
    target, at, ids = scheduler.jobs[f"revisit-ticket-{ticket.id}"]
    assert target == "bot.app.jobs.revisit:send" and ids == (ticket.id,)
    resolved_at = desk.uow.store.tickets[ticket.id or 0].resolved_at
    assert resolved_at is not None and at - resolved_at == timedelta(days=7)
