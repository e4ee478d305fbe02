"""Rendering replies and delivering them within Telegram's limits.

Every outbound message passes through :class:`Delivery`: it is rendered in the recipient's
locale, paced per chat, per group and bot-wide (:mod:`bot.core.pacing`), retried after a 429
(the whole bot pauses for ``retry_after``) or a transient failure, and logged. A 403 marks the
customer unreachable; a 400 "chat not found" marks the chat gone; neither is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from bot.core.deps import Deps
from bot.core.errors import (
    BadRequest,
    ChatBlocked,
    ChatGone,
    DeliveryError,
    MessageUnchanged,
    RateLimited,
    ThreadNotFound,
    TransientError,
    UncertainDelivery,
)
from bot.core.html_text import TELEGRAM_TEXT_LIMIT, fit_html, visible_length
from bot.core.locks import ChatLocks, UrgentFirst
from bot.core.messages import (
    CallbackAnswer,
    OutButton,
    Outgoing,
    Relay,
    Reply,
    Sent,
    TopicRef,
)
from bot.core.models import COPY, Customer, Direction, LoggedMessage, Reachability
from bot.core.pacing import Pacer
from bot.core.ports import Renderer, UnitOfWork
from bot.core.services.tickets import ticket_topic

log = logging.getLogger(__name__)

TOPIC_NAME_LIMIT = 128
UNCERTAIN = "uncertain: "
"""How a failure reason starts when the request left and no answer came (it may have
arrived)."""


class SendOutcome(StrEnum):
    """What became of one send (:meth:`Delivery.send_once`)."""

    SENT = "sent"
    RETRY = "retry"
    """A network failure or 5xx (or a topic that could not be recreated): try again later."""
    SKIPPED = "skipped"
    """403 or "chat not found" (the chat is marked unreachable), or an edit that changed
    nothing: not to be retried."""
    FAILED = "failed"
    """Any other 400: Telegram refused the request itself; retrying will not help."""


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: SendOutcome
    sent: Sent | None = None
    reason: str = ""
    """Telegram's reason for a failure (its error description: no personal data)."""


def render_reply(renderer: Renderer, reply: Reply, locale: str, chat_id: int) -> Outgoing:
    """Renders a handler's :class:`Reply` into an :class:`Outgoing` message for `chat_id`.

    The safety cut: a text whose visible part (after Telegram parses the HTML) is over
    :data:`~bot.core.html_text.TELEGRAM_TEXT_LIMIT` is cut with an ellipsis, never inside a tag
    or an entity, with its open tags closed (:func:`~bot.core.html_text.fit_html`). Templates
    that carry long customer words shorten them first (the staff card does)."""
    text = renderer.render(reply.key, locale, reply.params)
    shown = visible_length(text)
    if shown > TELEGRAM_TEXT_LIMIT:
        log.warning(
            "template %s shows %d characters; cut to %d", reply.key, shown, TELEGRAM_TEXT_LIMIT
        )
        text = fit_html(text, TELEGRAM_TEXT_LIMIT)
    rows = tuple(
        tuple(OutButton(renderer.render(b.key, locale, b.params), b.data, b.url) for b in row)
        for row in reply.buttons
    )
    return Outgoing(
        chat_id=reply.chat_id if reply.chat_id is not None else chat_id,
        text=text,
        buttons=rows,
        edit_message_id=reply.edit_message_id,
        template_key=reply.key,
        about_customer_id=reply.about_customer_id,
        topic=reply.topic,
        request_contact=renderer.render(reply.request_contact_key, locale)
        if reply.request_contact_key
        else None,
        remove_keyboard=reply.remove_keyboard,
    )


def render_relay(renderer: Renderer, relay: Relay, locale: str) -> Outgoing:
    """A :class:`Relay` as the copy a messenger sends (its caption rendered, if any)."""
    caption = renderer.render(relay.caption_key, locale, relay.params) if relay.caption_key else ""
    return Outgoing(
        chat_id=relay.chat_id,
        text=caption[:1024],
        template_key="relay",
        copy_from_chat_id=relay.from_chat_id,
        copy_message_id=relay.message_id,
        about_customer_id=relay.about_customer_id,
        topic=relay.topic,
    )


@dataclass(slots=True)
class DeliveryCounts:
    """Totals since this process started (read by ``/metrics``)."""

    sent: int = 0
    """Messages, edits and copies Telegram accepted."""
    rate_limited: int = 0
    """429 answers (each pauses every send for Telegram's ``retry_after``)."""


class Delivery:
    """Sends rendered messages through the messenger, paced, retried and logged."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self.counts = DeliveryCounts()
        self._pacer = Pacer(deps.policies.delivery.limits)
        self._chat_turns = ChatLocks()
        self._bot_turn = UrgentFirst()
        self._alerting = False
        """Set while a staff-chat alert is being sent, so a failing alert cannot cascade."""

    def _now(self) -> float:
        return self._deps.clock.now().timestamp()

    async def _paced(self, chat_id: int, urgent: bool = True) -> None:
        """Waits until one more request to `chat_id` keeps within Telegram's limits.

        Waiting takes turns, first among the messages to one chat, then among the chats
        ready to send at the bot-wide limit, each in arrival order (asyncio locks are fair):
        a chat's messages go out in the order they came, a message to a quiet chat (an
        agent's answer) waits behind at most one message per busy chat rather than behind
        every queued one, and each waiter sleeps about once, not once per message sent. At
        the bot-wide turn `urgent` messages (service: answers, staff alerts) go before the
        others (proactive and marketing rows), which get the capacity left.

        When both turns are free and nothing needs waiting for, the message goes at once,
        without taking the turns (nothing can come between the look and the record: there is
        no ``await`` in between). In a paid broadcast (1000 sends a second) that is nearly
        every message, and taking two turns each time cost a few per cent of the CPU."""
        if self._chat_turns.free(chat_id) and self._bot_turn.free:
            now = self._now()
            if self._pacer.delay(chat_id, now) == 0:
                self._pacer.record(chat_id, now)
                return
        async with self._chat_turns.hold(chat_id):
            await self._until(lambda now: self._pacer.chat_delay(chat_id, now))
            async with self._bot_turn.hold(urgent):
                await self._until(lambda now: self._pacer.delay(chat_id, now))
                self._pacer.record(chat_id, self._now())

    async def _until(self, delay: Callable[[float], float]) -> None:
        wait = delay(self._now())
        while wait > 0:
            await self._deps.clock.sleep(wait)
            wait = delay(self._now())

    async def _thread(self, chat_id: int, topic: TopicRef, fresh: bool = False) -> int | None:
        """The thread of the ticket's topic in `chat_id`; created (again, when `fresh`) if
        need be. None when Telegram will not create it."""
        if not fresh:
            async with self._deps.uow() as uow:
                known = await uow.topics.thread_of(topic.ticket_id, chat_id)
            if known is not None:
                return known
        await self._paced(chat_id)  # topic creation counts against the group's limit
        try:
            thread = await self._deps.messenger.create_topic(
                chat_id, topic.title[:TOPIC_NAME_LIMIT], topic.icon_color
            )
        except DeliveryError as exc:
            log.error("could not create a topic for ticket %s: %s", topic.ticket_id, exc)
            return None
        async with self._deps.uow() as uow:
            await uow.topics.save(topic.ticket_id, chat_id, thread)
            await uow.commit()
        log.info("topic %s in chat %s for ticket %s", thread, chat_id, topic.ticket_id)
        return thread

    async def _into_topic(self, message: Outgoing, fresh: bool = False) -> Outgoing:
        """`message` aimed at its ticket's topic; without one (Telegram refused to create
        it) it goes to the group itself, so nothing is lost."""
        assert message.topic is not None
        thread = await self._thread(message.chat_id, message.topic, fresh)
        return replace(message, thread_id=thread)

    async def send(self, message: Outgoing) -> Sent | None:
        """Delivers one message and logs it; ``None`` when it could not or need not be
        delivered."""
        sent = await self._send(message)
        if sent is not None:
            async with self._deps.uow() as uow:
                await self._log(uow, [(message, sent)])
                await uow.commit()
        return sent

    async def _send(self, message: Outgoing) -> Sent | None:
        """Delivers one message (the caller logs it); ``None`` when it could not or need not
        be delivered.

        A 429 is Telegram saying *when* to try again, not a failure: the whole bot pauses for
        ``retry_after`` and the same message is retried, however often that takes (SPEC §11:
        nothing accepted is lost). Only real failures (network errors, 5xx, a topic that
        cannot be recreated) count against ``max_send_attempts``."""
        result = await self._attempts(message, self._deps.policies.delivery.max_send_attempts)
        return result.sent

    async def send_once(
        self, message: Outgoing, tries: int = 1, urgent: bool = True, alert: bool = False
    ) -> SendResult:
        """Sends one already-rendered message through the same pacing and error handling as
        every other send, with `tries` tries at real failures (429s are still waited out and
        retried), and says what became of it; the caller logs it (:meth:`log_sent`). Used by
        the outbox (:mod:`bot.core.outbox`), which retries transient failures itself with a
        back-off kept in the database. A 403 marks the customer unreachable and a failing
        staff chat is reported, as for any send; with `alert`, so is a staff chat that still
        fails after the last try. Not `urgent`: proactive, it waits for the service
        messages queued at the bot-wide turn."""
        return await self._attempts(message, tries, alert_when_giving_up=alert, urgent=urgent)

    async def log_sent(self, uow: UnitOfWork, delivered: Sequence[tuple[Outgoing, Sent]]) -> None:
        """Logs these delivered messages in `uow`, all in one insert (the caller commits)."""
        await self._log(uow, delivered)

    async def _attempts(
        self,
        message: Outgoing,
        attempts: int,
        alert_when_giving_up: bool = True,
        urgent: bool = True,
    ) -> SendResult:
        clock = self._deps.clock
        if message.topic is not None and message.thread_id is None:
            message = await self._into_topic(message)
        failures = 0
        reason = ""
        while failures < attempts:
            await self._paced(message.chat_id, urgent)
            try:
                sent = await self._deps.messenger.send(message)
            except RateLimited as exc:
                self.counts.rate_limited += 1
                log.warning("429 from Telegram: pausing all sends for %.1fs", exc.retry_after)
                self._pacer.pause(exc.retry_after, self._now())
            except UncertainDelivery as exc:
                # It may have arrived: never repeated here. The outbox decides (at most one
                # more try, so one doubtful send costs at most one duplicate).
                log.warning(
                    "send to chat %s may or may not have arrived: %s", message.chat_id, exc
                )
                return SendResult(SendOutcome.RETRY, reason=f"{UNCERTAIN}{exc}")
            except TransientError as exc:
                failures += 1
                reason = str(exc)
                log.warning("transient delivery failure (attempt %d): %s", failures, exc)
                if failures < attempts or alert_when_giving_up:  # (as before send_once)
                    await clock.sleep(min(2.0**failures, 30.0))
            except MessageUnchanged:
                return SendResult(SendOutcome.SKIPPED, reason="message is not modified")
            except ThreadNotFound as exc:
                if message.topic is None:
                    log.error("chat %s has no such topic; message dropped", message.chat_id)
                    return SendResult(SendOutcome.FAILED, reason=str(exc))
                log.warning(
                    "topic of ticket %s was deleted; recreating it", message.topic.ticket_id
                )
                failures += 1
                reason = str(exc)
                message = await self._into_topic(message, fresh=True)
            except (ChatBlocked, ChatGone) as exc:
                if self._is_staff_chat(message.chat_id):
                    gone = isinstance(exc, ChatGone)
                    await self._staff_chat_failed(message.chat_id, "gone" if gone else "blocked")
                else:
                    await self._mark_unreachable(message.chat_id, exc)
                return SendResult(SendOutcome.SKIPPED, reason=str(exc))
            except BadRequest as exc:
                log.error(
                    "Telegram refused %s to chat %s: %s",
                    message.template_key,
                    message.chat_id,
                    exc,
                )
                await self._staff_chat_failed(message.chat_id, "refused")
                return SendResult(SendOutcome.FAILED, reason=str(exc))
            else:
                self.counts.sent += 1
                return SendResult(SendOutcome.SENT, sent=sent)
        log.error(
            "gave up on %s to chat %s after %d attempts",
            message.template_key,
            message.chat_id,
            attempts,
        )
        if alert_when_giving_up:
            await self._staff_chat_failed(message.chat_id, "failing")
        return SendResult(SendOutcome.RETRY, reason=reason)

    def _is_staff_chat(self, chat_id: int) -> bool:
        staff = self._deps.policies.staff
        return chat_id in (staff.group_chat_id, staff.supervisor_chat_id, staff.manager_chat_id)

    async def _staff_chat_failed(self, chat_id: int, problem: str) -> None:
        """A staff chat the bot cannot post in is an ERROR, reported through the other
        configured staff chats (never through the failing one, and never more than one level
        deep: if those fail too, the log is all that is left)."""
        if not self._is_staff_chat(chat_id):
            return
        log.error("staff chat %s cannot be reached (%s)", chat_id, problem)
        if self._alerting:
            return
        staff = self._deps.policies.staff
        others = [
            c
            for c in dict.fromkeys(
                (staff.supervisor_chat_id, staff.manager_chat_id, staff.group_chat_id)
            )
            if c is not None and c != chat_id
        ]
        self._alerting = True
        try:
            for other in others:
                notice = Reply(
                    "staff.chat_unreachable",
                    {"chat": chat_id, "problem": problem},
                    chat_id=other,
                    locale=staff.locale,
                )
                await self.deliver_one(notice, staff.locale, other)
        finally:
            self._alerting = False

    async def answer_callback(self, answer: CallbackAnswer, locale: str) -> None:
        """Stops a pressed button's spinner (with a short notice, if any). This is cosmetic:
        whatever goes wrong — an expired query, a 429, a 5xx, a dropped connection — is
        logged and swallowed, and never cancels the real messages that follow it."""
        text = (
            self._deps.renderer.render(answer.key, locale, answer.params) if answer.key else None
        )
        try:
            await self._deps.messenger.answer_callback(answer.callback_id, text)
        except DeliveryError as exc:  # an expired query is harmless: the spinner just stops
            log.info("could not answer callback: %s", exc)
        except Exception as exc:
            log.warning("answering a button press failed (%s); carrying on", type(exc).__name__)

    async def deliver_one(
        self, item: Reply | Relay | CallbackAnswer, locale: str, chat_id: int
    ) -> Sent | None:
        """One result; None when it was not (or need not be) delivered."""
        if isinstance(item, CallbackAnswer):
            await self.answer_callback(item, item.locale or locale)
            return None
        return await self.send(self.render(item, locale, chat_id))

    def render(self, item: Reply | Relay, locale: str, chat_id: int) -> Outgoing:
        """`item` as the message to send, in `locale` unless it names its own."""
        if isinstance(item, Relay):
            return render_relay(self._deps.renderer, item, item.locale or locale)
        return render_reply(self._deps.renderer, item, item.locale or locale, chat_id)

    async def _log(self, uow: UnitOfWork, delivered: Sequence[tuple[Outgoing, Sent]]) -> None:
        """Logs these delivered messages in `uow` with one customer lookup (for the messages
        that do not name their customer) and one insert, however many there are."""
        if not delivered:
            return
        unnamed = {m.chat_id for m, _ in delivered if m.about_customer_id is None}
        owners = await uow.customers.ids_by_chat_id(unnamed) if unnamed else {}
        at = self._deps.clock.now()
        await uow.messages.add_many(
            [
                LoggedMessage(
                    direction=Direction.OUT,
                    chat_id=message.chat_id,
                    at=at,
                    text=message.text,
                    telegram_message_id=sent.message_id,
                    customer_id=message.about_customer_id
                    if message.about_customer_id is not None
                    else owners.get(message.chat_id),
                    template_key=message.template_key,
                    content=COPY if message.copy_message_id is not None else "text",
                )
                for message, sent in delivered
            ]
        )

    async def _mark_unreachable(self, chat_id: int, exc: DeliveryError) -> None:
        state = Reachability.BLOCKED if isinstance(exc, ChatBlocked) else Reachability.CHAT_GONE
        log.info("chat %s is unreachable (%s)", chat_id, state.value)
        notices: list[Reply] = []
        async with self._deps.uow() as uow:
            customer = await uow.customers.get_by_chat_id(chat_id)
            if customer is not None and customer.reachability != state:
                customer.reachability = state
                customer.updated_at = self._deps.clock.now()
                await uow.customers.update(customer)
                notices = await self._tell_ticket_topics(uow, customer, state)
                await uow.commit()
        for notice in notices:  # staff learn it in each open ticket's topic
            await self.deliver_one(notice, self._deps.policies.staff.locale, notice.chat_id or 0)

    async def _tell_ticket_topics(
        self, uow: UnitOfWork, customer: Customer, state: Reachability
    ) -> list[Reply]:
        staff = self._deps.policies.staff
        if customer.id is None or staff.group_chat_id is None or not staff.topics:
            return []
        return [
            Reply(
                "staff.customer_unreachable",
                {
                    "number": ticket.number,
                    "customer": customer.display_name,
                    "reachability": state.value,
                },
                chat_id=staff.group_chat_id,
                locale=staff.locale,
                about_customer_id=customer.id,
                topic=ticket_topic(ticket, customer.display_name, None),
            )
            for ticket in await uow.tickets.open_for_customer(customer.id)
        ]
