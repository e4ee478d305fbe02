"""Staff tasks' cards: who may press which button (the role matrix), through the real
dispatcher and routing, in an advisor's private chat and in the supervisors' chat; the
choice is recorded once with who and when; the payloads parse only as they are written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.consent import ConsentChange, ConsentSource
from bot.core.messages import ChatKind, Sender
from bot.core.roles import Role
from bot.core.services.staff import enroll
from bot.core.staff_tasks import (
    StaffTask,
    TaskChoice,
    TaskKind,
    TaskState,
    button_data,
    parse_button,
)
from tests.unit.conftest import FakeBot

SUPERVISORS_CHAT = -100777
ADVISOR = Sender(id=7001, first_name="Ann")
PEOPLE = [None, *Role]  # None: someone not on the roster


async def _customer(bot: FakeBot) -> int:
    await bot.say(Sender(id=501, first_name="Ada"), "/start")
    async with bot.deps.uow() as uow:
        customer = await uow.customers.get_by_chat_id(501)
        assert customer is not None and customer.id is not None
        return customer.id


async def _task(bot: FakeBot, assignee: int | None, chat_id: int) -> int:
    customer_id = await _customer(bot)
    async with bot.deps.uow() as uow:
        await enroll(uow, ADVISOR.id, "Ann", Role.AGENT, bot.clock.now())
        stored = await uow.tasks.add(
            StaffTask(
                kind=TaskKind.ADVISOR_CHECKIN,
                customer_id=customer_id,
                period="2026-12",
                chat_id=chat_id,
                opened_at=bot.clock.now(),
                reason="high-checkin 2026-12: default",
                assignee=assignee,
                rule_id="high-checkin",
            )
        )
        await uow.commit()
    assert stored is not None and stored.id is not None
    return stored.id


async def _state(bot: FakeBot, task_id: int) -> StaffTask:
    async with bot.deps.uow() as uow:
        task = await uow.tasks.get(task_id)
    assert task is not None
    return task


def _answers(bot: FakeBot) -> list[str]:
    return [c[1] for c in bot.messenger.callbacks if c[1]]


async def _enrolled(bot: FakeBot, role: Role | None) -> Sender:
    who = Sender(id=8000 + (list(Role).index(role) if role else 99), first_name="Pat")
    if role is not None:
        async with bot.deps.uow() as uow:
            await enroll(uow, who.id, "Pat", role, bot.clock.now())
            await uow.commit()
    return who


@pytest.mark.parametrize("role", PEOPLE, ids=lambda r: r.value if r else "outsider")
async def test_an_advisors_task_only_they_or_a_senior_person_may_settle(
    bot: FakeBot, role: Role | None
) -> None:
    task_id = await _task(bot, assignee=ADVISOR.id, chat_id=ADVISOR.id)
    who = await _enrolled(bot, role)
    await bot.press(who, button_data(task_id, TaskChoice.CONTACTED))
    task = await _state(bot, task_id)
    render = bot.deps.renderer.render
    if role in (Role.SUPERVISOR, Role.MANAGER, Role.ADMIN):
        assert (task.state, task.choice, task.acted_by) == (
            TaskState.DONE,
            TaskChoice.CONTACTED,
            who.id,
        )
        assert task.acted_at == bot.clock.now()
    else:
        assert task.state is TaskState.OPEN and task.acted_by is None
        if role is Role.AGENT:  # on the roster, may work tasks, but not this one: courteous
            assert render("task.not_yours", "en", {"name": "Pat"}) in _answers(bot)
        else:  # marketing, outsiders: the dispatcher's refusal
            assert render("staff.not_allowed", "en") in _answers(bot)


async def test_the_assignee_settles_their_task_once(bot: FakeBot) -> None:
    task_id = await _task(bot, assignee=ADVISOR.id, chat_id=ADVISOR.id)
    await bot.press(ADVISOR, button_data(task_id, TaskChoice.SKIP))
    task = await _state(bot, task_id)
    assert (task.state, task.choice, task.acted_by) == (
        TaskState.SKIPPED,
        TaskChoice.SKIP,
        ADVISOR.id,
    )
    edited = [m for m in bot.messenger.sent if "Skip · Ann" in m.text]
    assert edited, "the card says what was chosen, by whom"
    await bot.press(ADVISOR, button_data(task_id, TaskChoice.CONTACTED))
    assert (await _state(bot, task_id)).choice is TaskChoice.SKIP  # the first choice stays
    assert any("already been settled" in a for a in _answers(bot))


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
async def test_a_task_in_the_supervisors_chat_is_for_senior_staff(
    bot: FakeBot, role: Role
) -> None:
    bot.configure(supervisor_chat_id=SUPERVISORS_CHAT)
    task_id = await _task(bot, assignee=None, chat_id=SUPERVISORS_CHAT)
    who = await _enrolled(bot, role)
    await bot.press_in_group(who, SUPERVISORS_CHAT, button_data(task_id, TaskChoice.CONTACTED))
    settled = (await _state(bot, task_id)).state is TaskState.DONE
    assert settled == (role is Role.SUPERVISOR)
    notice = bot.deps.renderer.render("task.for_supervisors", "en", {"name": "Pat"})
    assert (notice in _answers(bot)) == (role is Role.AGENT)


async def test_other_messages_in_the_supervisors_chat_are_not_acted_on(bot: FakeBot) -> None:
    bot.configure(supervisor_chat_id=SUPERVISORS_CHAT)
    who = await _enrolled(bot, Role.SUPERVISOR)
    msg = bot.incoming(
        who, chat_id=SUPERVISORS_CHAT, chat_kind=ChatKind.SUPERGROUP, text="/help", command="help"
    )
    assert await bot.feed(msg) == []
    assert not bot.messenger.sent


def test_payloads() -> None:
    assert parse_button(button_data(42, TaskChoice.SEND_MESSAGE)) == (42, TaskChoice.SEND_MESSAGE)
    for bad in ("task:42", "task:x:send", "task:42:nope", "tk:42:send", "task:42:send:1"):
        assert parse_button(bad) is None
    assert len(button_data(2**62, TaskChoice.UNREACHED).encode()) <= 64


async def _outbox_keys(bot: FakeBot) -> list[str]:
    return sorted(row.key for row in bot.uow.store.outbox.values())


async def test_the_suggested_message_keeps_the_marketing_guards(bot: FakeBot) -> None:
    """No consent: not sent, the task stays open and the advisor is told why. With consent,
    at 22:00 in the customer's zone: held until 09:00, and the card says so."""
    task_id = await _task(bot, assignee=ADVISOR.id, chat_id=ADVISOR.id)
    send = button_data(task_id, TaskChoice.SEND_MESSAGE)
    await bot.press(ADVISOR, send)
    assert (await _state(bot, task_id)).state is TaskState.OPEN
    assert any("has not agreed to receive offers" in m.text for m in bot.messenger.sent)
    assert not [k for k in await _outbox_keys(bot) if k.endswith(":message")]

    task = await _state(bot, task_id)
    async with bot.deps.uow() as uow:
        await uow.records.record_consent(
            ConsentChange(task.customer_id, True, ConsentSource.IMPORT, bot.clock.now())
        )
        await uow.commit()
    bot.clock.current = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)  # London: quiet hours
    await bot.press(ADVISOR, send)
    await bot.press(ADVISOR, send)  # a second press sends nothing more
    keys = [k for k in await _outbox_keys(bot) if k.endswith(":message")]
    assert keys == [f"engage:high-checkin:{task.customer_id}:2026-12:message"]
    [row] = [r for r in bot.uow.store.outbox.values() if r.key == keys[0]]
    assert row.not_before == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert row.message.chat_id == 501 and "personal check-in" in row.message.text
    assert (await _state(bot, task_id)).choice is TaskChoice.SEND_MESSAGE
    assert any("goes out at 2026-12-02 09:00 UTC" in m.text for m in bot.messenger.sent)
