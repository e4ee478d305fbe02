"""One update through the core: accept it, route it, run its handler, deliver the results.

Both adapters convert an update into an :class:`Incoming` and call :meth:`Dispatcher.dispatch`;
nothing else. Everything after conversion — routing included — is the same code whichever
framework is running.

Order of work, chosen so nothing accepted is lost, nothing is done twice, and an ordinary
update costs few transactions:

0. **Inbox** (before any of this, one transaction per fetched batch): the adapter records
   each batch with :meth:`Dispatcher.accept` before it asks Telegram for the next offset,
   which confirms the batch; only then does it feed the updates to its framework, whose
   routing calls :meth:`Dispatcher.dispatch`. At start-up the adapter first feeds what
   :meth:`Dispatcher.waiting` still holds — accepted, never handled — oldest first.
1. **Accept** (one transaction): skip the update if its ``update_id`` was already recorded
   and it is not waiting in the inbox (a re-delivery of handled work); an update recorded
   but still waiting was interrupted by a crash or a stop, and is handled now. Read what
   routing needs (roster membership, the agent's chats, the dialogue state, a take-over);
   choose the route (:class:`~bot.core.routing.Routing`, pure); for a staff route, check the
   role and audit the attempt; find or create the customer; record the inbound message
   (unless the interrupted attempt did). The commit makes the message durable before any
   reply is attempted.
2. **Handle**: the route's handler runs the use case, which opens and commits its own unit of
   work when it changes anything.
3. **Deliver** the results through the outbox (:func:`bot.core.outbox.send_results`): in one
   transaction the messages are written as outbox rows and the inbound message is marked
   handled (which also takes it out of the inbox); then they are sent, each marked sent in
   its own transaction. From that commit on the update is never handled again, and what it
   decided to say is durable: a crash before the sends finish leaves the rows to the outbox.
   The one window left is between the use case's commit and this one (milliseconds): a crash
   there handles the update again at the next start.

Updates the core has nothing to do for (outside the staff group, or of a kind it does not
handle) leave the inbox through :meth:`Dispatcher.discard`, so "waiting" always means work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from bot.core.delivery import Delivery
from bot.core.deps import Deps
from bot.core.desk import Takeover
from bot.core.locale import resolve_locale
from bot.core.locks import ChatLocks
from bot.core.messages import CallbackAnswer, Incoming, Relay, Reply, Sent
from bot.core.models import Conversation, Customer, Direction, LoggedMessage
from bot.core.outbox import (
    Delivered,
    Lane,
    OutboxPolicy,
    send_now,
    send_results,
    worker_name,
)
from bot.core.ports import DuplicateUpdate, InboundUpdate, JobRequest, Triager, UnitOfWork
from bot.core.retry import retrying
from bot.core.roles import StaffMember
from bot.core.routing import Audience, Place, Route, Routing, Situation, place_of
from bot.core.services.customers import customer_locale, upsert_customer
from bot.core.services.ratings import schedule
from bot.core.services.staff import authorise
from bot.core.triage import Kind, TriageDecision

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Turn:
    """An update from a customer with what the core knows about them, for a handler."""

    msg: Incoming
    customer: Customer
    locale: str
    conversation: Conversation | None
    takeover: Takeover | None = None
    decision: TriageDecision | None = None
    """Triage's reading of free text, when routing needed it (the complaint routes)."""

    @property
    def name(self) -> str:
        return self.customer.first_name or self.customer.display_name


@dataclass(frozen=True, slots=True)
class StaffTurn:
    """An update from a roster member acting as staff (in the staff group, or in their private
    chat with the bot), whose role allows the route's action. Staff are not customers: no
    customer record is made for them, and they are answered in the staff locale."""

    msg: Incoming
    locale: str
    member: StaffMember

    @property
    def actor(self) -> str:
        return f"staff:{self.msg.sender.id}"


Result = Reply | Relay | CallbackAnswer | JobRequest
"""What a handler returns: messages to send, button answers, and timed jobs to schedule
(they are scheduled after the handler's unit of work has committed, before delivery)."""
Handler = Callable[[Turn, Deps], Awaitable[Sequence[Result]]]
StaffHandler = Callable[[StaffTurn, Deps], Awaitable[Sequence[Result]]]


@dataclass(frozen=True, slots=True)
class _OlderElsewhere:
    """Older updates of the chat wait in the inbox, handled by another process."""

    update_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Accepted:
    """What the accept transaction decided."""

    route: Route
    turn: Turn | StaffTurn | None
    """None: a staff route the sender may not use (refused and audited)."""


class Dispatcher:
    """Runs updates through the routing table. One per process; it owns the delivery pacing
    state. `routing` is :data:`bot.handlers.routes.ROUTING`, handed in by the composition
    root (the core knows the shape of a routing table, never its handlers)."""

    def __init__(
        self,
        deps: Deps,
        routing: Routing,
        outbox: OutboxPolicy | None = None,
        worker: str | None = None,
    ) -> None:
        self.deps = deps
        self.routing = routing
        self.delivery = Delivery(deps)
        self.outbox = outbox or OutboxPolicy()
        self.worker = worker or worker_name()
        """This process as the outbox rows it claims name it."""
        self._chat_locks = ChatLocks()
        self.in_flight = 0
        """Updates being handled right now (waiting for their chat's turn included)."""
        self.handled = 0
        """Updates this process handled to the end (read by ``/metrics``)."""
        self.failed = 0
        """Updates this process gave up on, left in the inbox for the next start."""
        self._mine: set[int] = set()
        """Ids of the updates this process has begun and not finished (or given up on): the
        older updates of a chat that need no waiting for, since this process orders them."""
        self._closing = False
        self.resumed = asyncio.Event()
        """Set once :meth:`resume` has sent what an earlier run left in the outbox; the
        outbox sender starts after it, so it cannot reorder those answers."""

    async def dispatch(self, msg: Incoming) -> list[Sent]:
        """Handles one update; updates of one chat run one at a time, in arrival order, so a
        customer's quick second message never overtakes the first."""
        if self._place(msg) is Place.ELSEWHERE:
            log.info(
                "update %s from chat %s outside the staff group: ignored",
                msg.update_id,
                msg.chat_id,
            )
            await self.discard(msg.update_id)
            return []
        self.in_flight += 1
        self._mine.add(msg.update_id)
        try:
            async with self._chat_locks.hold(msg.chat_id):
                sent = await self._attempts(msg)
        except Exception:
            self.failed += 1  # stays in _mine: it waits in the inbox for the next start
            raise
        finally:
            self.in_flight -= 1
        self._mine.discard(msg.update_id)
        self.handled += 1
        return sent

    async def _attempts(self, msg: Incoming) -> list[Sent]:
        """Handles `msg`, trying again after a failure (a busy database, say) with a growing
        wait, up to ``handling.attempts`` times; the caller holds the chat's turn, so the
        chat's later updates wait and its answers keep their order. Past the last attempt the
        error is raised, and the update stays in the inbox for the next start. A retry of an
        update handled meanwhile (the failure came after its answers were written down) does
        nothing: accepting it finds it handled."""

        async def once() -> list[Sent]:
            if self._closing:  # not begun: it stays in the inbox for the next start
                log.debug("update %s left for the next start", msg.update_id)
                return []
            return await self._dispatch(msg)

        policy = self.deps.policies.handling
        try:
            return await retrying(once, policy, self.deps.clock.sleep, f"update {msg.update_id}")
        except Exception:
            log.error(
                "update %s not handled after %d attempts; it stays in the inbox for the next "
                "start",
                msg.update_id,
                policy.attempts,
            )
            raise

    def close(self) -> None:
        """For a clean stop: updates still waiting for their chat's turn are not begun (they
        stay in the inbox and are handled first at the next start, in order); those being
        handled run to the end, so a stop repeats nothing. Not undone: one dispatcher per
        run of the bot."""
        self._closing = True

    async def resume(self) -> None:
        """At start-up, before any update is handled: answers an earlier run of the bot wrote
        to the outbox and did not send (it was killed; :func:`bot.core.outbox.recover` has
        made them due again) are sent first, so each chat's answers keep the order of its
        messages when the updates it left waiting are handled next. Rows that fail again
        are left to the outbox senders."""
        deps = self.deps
        stale = timedelta(seconds=self.outbox.claim_timeout_seconds)
        while True:
            now = deps.clock.now()
            async with deps.uow() as uow:
                due = await uow.outbox.due(now, now - stale, self.outbox.batch_size)
            service = [row.id for row in due if row.lane is Lane.SERVICE and row.id]
            if not service or not await send_now(deps, self.delivery, service, self.worker):
                break
        self.resumed.set()

    async def accept(self, updates: Sequence[InboundUpdate]) -> list[int]:
        """Records a fetched batch in the inbox, in one transaction, before the adapter lets
        Telegram forget it; returns the ids of the updates new to the inbox, which the
        adapter then feeds to its framework. Updates already waiting (they are handled at
        start-up) or already handled (a re-delivery) are left out. Raises whatever the
        database raises (busy, unavailable): the caller retries and does not confirm."""
        async with self.deps.uow() as uow:
            added = await uow.inbox.add_new(updates, self.deps.clock.now())
            await uow.commit()
        return added

    async def waiting(self, after_update_id: int = 0, limit: int = 100) -> list[InboundUpdate]:
        """Accepted updates never handled (a crash or a stop came first), oldest first."""
        async with self.deps.uow() as uow:
            return await uow.inbox.waiting(after_update_id, limit)

    async def discard(self, update_id: int) -> None:
        """Takes an update the core has nothing to do for out of the inbox."""
        async with self.deps.uow() as uow:
            await uow.inbox.discard(update_id)
            await uow.commit()

    async def _dispatch(self, msg: Incoming) -> list[Sent]:
        accepted = await self._accept_in_order(msg)
        if accepted is None:
            return []
        route, turn = accepted.route, accepted.turn
        staff_locale = self.deps.policies.staff.locale
        if turn is None:  # a staff action the sender may not take: say so on a button only,
            # or, for a route that names its refusal, in the sender's language on anything
            refusal: list[Reply | Relay | CallbackAnswer] = []
            locale = staff_locale
            if route.refusal is not None:
                locale = resolve_locale(
                    None,
                    msg.sender.language_code,
                    self.deps.policies.locale.default_locale,
                    self.deps.renderer.locales,
                )
            if msg.callback_id:
                refusal = [CallbackAnswer(msg.callback_id, route.refusal or "staff.not_allowed")]
            elif route.refusal is not None:
                refusal = [Reply(route.refusal)]
            done = await self._deliver(refusal, locale, msg.chat_id, msg.update_id)
            return done.sent
        try:
            results = await route.handler(turn, self.deps)
        except Exception:
            log.exception("handler %s failed on update %s", _name(route), msg.update_id)
            raise
        outgoing = await self._schedule(results)
        if isinstance(turn, StaffTurn) and route.place is Place.PRIVATE:
            return await self._deliver_for_agent(outgoing, turn)
        done = await self._deliver(outgoing, turn.locale, msg.chat_id, msg.update_id)
        return done.sent

    async def _deliver(
        self,
        results: Sequence[Reply | Relay | CallbackAnswer],
        locale: str,
        chat_id: int,
        update_id: int,
        key: str = "",
    ) -> Delivered:
        """Sends `results` through the outbox under keys made from the update (``update:<id>``
        and `key`), marking the update handled unless `key` names a follow-up."""
        return await send_results(
            self.deps,
            self.delivery,
            results,
            locale,
            chat_id,
            key=f"update:{update_id}{key}",
            worker=self.worker,
            policy=self.outbox,
            handled=None if key else update_id,
        )

    async def _accept_in_order(self, msg: Incoming) -> _Accepted | None:
        """:meth:`_accept`, after the older updates of the chat that another process is
        handling (several workers on one database): while the inbox holds such an update,
        nothing is written and the accept is tried again after a growing pause, so a chat's
        answers keep the order of its update ids across workers (this process's own updates
        are ordered by its chat locks). Past ``handling.order_wait_seconds`` it goes ahead:
        an update recorded by a process that then died is handled at that process's next
        start."""
        policy = self.deps.policies.handling
        clock = self.deps.clock
        started, pause = clock.now(), policy.order_poll_seconds
        in_order = policy.order_wait_seconds > 0
        while True:
            accepted = await self._accept(msg, in_order=in_order)
            if not isinstance(accepted, _OlderElsewhere):
                return accepted
            waited = (clock.now() - started).total_seconds()
            if waited >= policy.order_wait_seconds:
                log.warning(
                    "update %s went ahead of older update(s) %s of its chat after %.0f s: no "
                    "process finished them",
                    msg.update_id,
                    list(accepted.update_ids),
                    waited,
                )
                in_order = False
                continue
            await clock.sleep(pause)
            pause = min(pause * 2, 1.0)

    async def _accept(
        self, msg: Incoming, in_order: bool = False
    ) -> _Accepted | _OlderElsewhere | None:
        deps = self.deps
        now = deps.clock.now()
        async with deps.uow() as uow:
            recorded = await uow.messages.has_update(msg.update_id)
            if recorded and not await uow.inbox.is_waiting(msg.update_id):
                log.info("update %s already handled; ignoring the re-delivery", msg.update_id)
                return None
            if in_order:
                older = await uow.inbox.older_waiting(msg.chat_id, msg.update_id)
                elsewhere = tuple(i for i in older if i not in self._mine)
                if elsewhere:  # nothing written: the unit of work rolls back
                    return _OlderElsewhere(elsewhere)
            if recorded:
                log.info("update %s was recorded but never handled; handling it", msg.update_id)
            situation, conversation, takeover = await self._situation(uow, msg)
            decision = None
            if self.routing.needs_triage(msg, situation):
                decision = classify(deps.triage, msg)
                situation = _with_complaint(situation, decision)
            route = self.routing.select(msg, situation)
            customer: Customer | None = None
            turn: Turn | StaffTurn | None = None
            if route is not None and route.audience is Audience.STAFF:
                assert route.action is not None
                member = await authorise(uow, msg, route.action, now)
                if member is not None:
                    turn = StaffTurn(msg=msg, locale=deps.policies.staff.locale, member=member)
            elif route is not None:
                customer = await upsert_customer(uow, msg.sender, msg.chat_id, now)
                locale = customer_locale(
                    customer, deps.policies.locale.default_locale, deps.renderer.locales
                )
                turn = Turn(msg, customer, locale, conversation, takeover, decision)
            try:
                if not recorded:
                    await uow.messages.add(_inbound(msg, customer))
            except DuplicateUpdate:
                log.info("update %s recorded concurrently; ignoring", msg.update_id)
                return None
            if route is None:
                log.debug("no route for update %s; recorded only", msg.update_id)
                await uow.messages.mark_handled(msg.update_id, now)
            await uow.commit()
        return _Accepted(route, turn) if route is not None else None

    async def _situation(
        self, uow: UnitOfWork, msg: Incoming
    ) -> tuple[Situation, Conversation | None, Takeover | None]:
        place = self._place(msg)
        member = await uow.staff.get(msg.sender.id)
        if place is not Place.PRIVATE:
            return Situation(place, member), None, None
        agent_chats = len(await uow.desk.for_agent(member.telegram_user_id)) if member else 0
        conversation = await uow.conversations.get(msg.chat_id)
        takeover = await uow.desk.active(msg.chat_id)
        situation = Situation(
            place,
            member,
            agent_chats=agent_chats,
            taken_over=takeover is not None,
            flow=conversation.flow if conversation else None,
        )
        return situation, conversation, takeover

    def _place(self, msg: Incoming) -> Place:
        staff = self.deps.policies.staff
        return place_of(msg, staff.group_chat_id, staff.supervisor_chat_id)

    async def _schedule(self, results: Sequence[Result]) -> list[Reply | Relay | CallbackAnswer]:
        """Schedules the jobs among a handler's results; returns the rest, to deliver."""
        await schedule(self.deps, [r for r in results if isinstance(r, JobRequest)])
        return [r for r in results if not isinstance(r, JobRequest)]

    async def _deliver_for_agent(
        self, results: Sequence[Reply | Relay | CallbackAnswer], turn: StaffTurn
    ) -> list[Sent]:
        """An agent's private desk work: what could not reach the customer is explained to the
        agent at once, so they are never left guessing."""
        msg = turn.msg
        done = await self._deliver(results, turn.locale, msg.chat_id, msg.update_id)
        sent = done.sent
        customers = {_chat_of(item) for item in done.missed} - {msg.chat_id, None}
        for chat_id in sorted(c for c in customers if c is not None):
            notice = Reply(
                "desk.undeliverable",
                {"reachability": await self._reachability(chat_id)},
                chat_id=msg.chat_id,
            )
            key = f":undeliverable:{chat_id}"
            told = await self._deliver([notice], turn.locale, msg.chat_id, msg.update_id, key)
            sent += told.sent
        return sent

    async def _reachability(self, chat_id: int) -> str:
        async with self.deps.uow() as uow:
            customer = await uow.customers.get_by_chat_id(chat_id)
        return customer.reachability.value if customer else "chat_gone"


def classify(triage: Triager, msg: Incoming) -> TriageDecision:
    return triage.classify(msg.text or "")


def _with_complaint(situation: Situation, decision: TriageDecision) -> Situation:
    return replace(situation, complaint=decision.kind is Kind.COMPLAINT)


def _inbound(msg: Incoming, customer: Customer | None) -> LoggedMessage:
    return LoggedMessage(
        direction=Direction.IN,
        chat_id=msg.chat_id,
        at=msg.date,
        text=msg.text if msg.text is not None else msg.callback_data,
        telegram_message_id=msg.message_id,
        update_id=msg.update_id,
        customer_id=customer.id if customer else None,
        content=msg.content.value,
    )


def _chat_of(item: Reply | Relay | CallbackAnswer) -> int | None:
    if isinstance(item, Relay | Reply):
        return item.chat_id
    return None


def _name(route: Route) -> str:
    return getattr(route.handler, "__qualname__", repr(route.handler))
