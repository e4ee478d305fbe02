"""Opening a staff task: the row (:mod:`bot.core.staff_tasks`) and its card for staff.

:func:`open_task` stores the task — nothing when a task of its kind, customer and period
exists — and, in the same unit of work, writes its card to the outbox's service lane (the
caller commits). The card says who the customer is and what staff may need before contacting
them, and **only that**: name, tier and lifecycle stage, the last orders (reference, day,
amount, status), the open tickets (number, state), the last rating (score, day) and why the
task was opened. No phone, e-mail, birthday, tags or message text: an advisor sees what a
check-in needs, and the card may sit in a group chat.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.core.delivery import render_reply
from bot.core.engagement.facts import CustomerFacts
from bot.core.messages import Button, Reply
from bot.core.outbox_model import Lane, OutboxMessage
from bot.core.policies import Policies
from bot.core.ports import Renderer, UnitOfWork
from bot.core.records import OrderStatus
from bot.core.services.advisors import advisor_of
from bot.core.staff_tasks import CHOICES, StaffTask, TaskKind, button_data, task_chat
from bot.core.tickets import Ticket

log = logging.getLogger(__name__)

CARD_KEY = "task.card"
BUTTON_KEY = "task.button.{choice}"


def task_key(task: StaffTask) -> str:
    """The outbox key of a task's card when the caller names none."""
    return f"task:{task.kind.value}:{task.customer_id}:{task.period}"


def card_params(
    task: StaffTask,
    facts: CustomerFacts,
    open_tickets: Sequence[Ticket],
    *,
    orders_shown: int,
    currency: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What ``task.card`` is rendered with (see the module docstring for what is left out)."""
    orders = sorted(
        (o for o in facts.orders if o.status is not OrderStatus.CANCELLED),
        key=lambda o: o.created_at,
        reverse=True,
    )[:orders_shown]
    rating = max(facts.ratings, default=None)
    return {
        "kind": task.kind.value,
        "customer": facts.name,
        "tier": facts.tier.value,
        "stage": facts.stage.value,
        "reason": task.reason,
        "orders": [
            {
                "ref": o.ref,
                "day": o.created_at.date().isoformat(),
                "amount": f"{Decimal(o.amount_cents) / 100:.2f} {currency}",
                "status": o.status.value,
            }
            for o in orders
        ],
        "tickets": [{"number": t.number, "state": t.state.value} for t in open_tickets],
        "rating": ({"score": rating[1], "day": rating[0].date().isoformat()} if rating else None),
        **(extra or {}),
    }


def card(task: StaffTask, params: dict[str, Any], locale: str) -> Reply:
    """The task's card, with one button per choice of its kind."""
    assert task.id is not None
    row = tuple(
        Button(BUTTON_KEY.format(choice=c.value), button_data(task.id, c))
        for c in CHOICES[task.kind]
    )
    return Reply(
        CARD_KEY,
        params,
        buttons=(row,),
        chat_id=task.chat_id,
        locale=locale,
        about_customer_id=task.customer_id,
    )


async def addressee(
    uow: UnitOfWork, kind: TaskKind, customer_id: int, policies: Policies
) -> tuple[int | None, int | None]:
    """(assignee, chat) for a new task: an advisor check-in goes to the customer's dedicated
    advisor (their private chat with the bot) while they are on the roster; everything else,
    and a customer without an advisor, to the supervisors' chat (:func:`task_chat`), with no
    assignee. (None, None): nowhere to send it (no staff chat is configured)."""
    if kind is TaskKind.ADVISOR_CHECKIN:
        advisor = await advisor_of(uow, customer_id)
        if advisor is not None and advisor.active:
            return advisor.telegram_user_id, advisor.telegram_user_id
    return None, task_chat(policies.staff)


async def open_task(
    uow: UnitOfWork,
    renderer: Renderer,
    policies: Policies,
    task: StaffTask,
    facts: CustomerFacts,
    *,
    now: datetime,
    key: str | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[StaffTask, int | None] | None:
    """Stores `task` (its ``assignee`` and ``chat_id`` are found here) and writes its card to
    the outbox under `key` (default :func:`task_key`). Returns the stored task and the card's
    outbox row (None if that key was written before); None when the task exists already or
    there is no staff chat to send it to. The caller commits."""
    assignee, chat = await addressee(uow, task.kind, task.customer_id, policies)
    if chat is None:
        log.warning("no staff chat for a %s task; none opened", task.kind.value)
        return None
    task.assignee, task.chat_id = assignee, chat
    stored = await uow.tasks.add(task)
    if stored is None:
        return None
    tickets = await uow.tickets.open_for_customer(task.customer_id)
    params = card_params(
        stored,
        facts,
        tickets,
        orders_shown=policies.engagement.task_orders_shown,
        currency=policies.engagement.currency,
        extra=extra,
    )
    locale = policies.staff.locale
    message = render_reply(renderer, card(stored, params, locale), locale, chat)
    row = await uow.outbox.enqueue(
        OutboxMessage(
            key=key or task_key(stored),
            lane=Lane.SERVICE,
            message=message,
            created_at=now,
            not_before=now,
        )
    )
    log.info("staff task %s (%s) opened", stored.id, stored.kind.value)
    return stored, row
