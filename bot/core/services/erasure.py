"""Erasing a customer (SPEC §12), in the database and in the staff chats.

``rapport customer forget`` erases the customer's personal data and words from every table
(:meth:`bot.core.ports.CustomerRecordRepository.forget`). What the bot already posted about
them in other chats — ticket cards, alerts, relayed messages in the staff group and the
supervisors' and managers' chats — Telegram still shows; so, in the same transaction, each
of those messages is queued in the outbox as an edit that replaces its text (and removes its
buttons) with a short notice; each copy the desk relayed of their messages (words, photos,
files: a photo has no text to replace) is queued for deletion; and each of their tickets'
forum topics, whose title carries the customer's name, is queued to be renamed to the
ticket's number and severity. The running bot's outbox senders do it: nothing is sent from
the command line, and a change Telegram refuses (a message too old to delete, a chat that is
gone) ends ``failed`` or ``skipped`` with Telegram's reason, visible in ``rapport outbox
status``. Relays logged before copies were marked as such are edited, as before.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.messages import Outgoing
from bot.core.models import COPY
from bot.core.outbox import Lane, enqueue_rendered
from bot.core.ports import Renderer, UnitOfWork

ERASED_NOTICE = "staff.erased"
"""The template that replaces what the bot had posted about an erased customer."""

ERASED_TOPIC = "staff.erased_topic"
"""The template of an erased customer's ticket topic's new title (number, severity)."""


async def forget_customer(
    uow: UnitOfWork, renderer: Renderer, staff_locale: str, customer_id: int, now: datetime
) -> int:
    """Erases the customer in `uow` and queues the redaction of every message the bot posted
    about them elsewhere, and the renaming of their tickets' topics; returns how many edits
    and renames were queued. The caller commits. Raises
    LookupError for an unknown customer."""
    customer = await uow.customers.get(customer_id)
    if customer is None:
        raise LookupError(f"no customer {customer_id}")
    posted = await uow.messages.posted_about(customer_id, customer.chat_id)
    topics = await uow.topics.of_customer(customer_id)
    await uow.records.forget(customer_id)  # (skips unsent outbox rows about the customer)
    text = renderer.render(ERASED_NOTICE, staff_locale)
    queued = 0
    for message in posted:
        assert message.telegram_message_id is not None
        if message.content == COPY:  # a relay of their words, photo or file: it goes
            edit = Outgoing(
                chat_id=message.chat_id,
                text="",
                delete_message_id=message.telegram_message_id,
                template_key=ERASED_NOTICE,
            )
        else:
            edit = Outgoing(
                chat_id=message.chat_id,
                text=text,
                edit_message_id=message.telegram_message_id,
                template_key=ERASED_NOTICE,
            )
        key = f"erase:{customer_id}:{message.chat_id}:{message.telegram_message_id}"
        if await enqueue_rendered(uow, edit, key=key, lane=Lane.SERVICE, now=now) is not None:
            queued += 1
    for ticket_id, chat_id, thread_id in topics:
        ticket = await uow.tickets.get(ticket_id)
        assert ticket is not None  # tickets outlive erasure (counts and reports keep them)
        params = {"number": ticket.number, "severity": ticket.severity.value}
        rename = Outgoing(
            chat_id=chat_id,
            text=renderer.render(ERASED_TOPIC, staff_locale, params),
            rename_thread_id=thread_id,
            template_key=ERASED_TOPIC,
        )
        key = f"erase-topic:{customer_id}:{chat_id}:{thread_id}"
        if await enqueue_rendered(uow, rename, key=key, lane=Lane.SERVICE, now=now) is not None:
            queued += 1
    return queued
