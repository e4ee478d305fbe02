"""One update through the core: record it, find the customer, run the handler, deliver.

Both adapters call :meth:`Dispatcher.handle` with the :class:`Incoming` they converted and the
handler their routing chose from ``bot.handlers.ROUTES``, so everything after conversion is
the same code whichever framework is running.

Order of work, chosen so nothing accepted is lost and nothing is done twice:

1. In one transaction: skip the update if its ``update_id`` was already recorded (Telegram
   re-delivers), find or create the customer, log the inbound message, read the dialogue state.
   The commit makes the message durable before any reply is attempted.
2. Run the handler (it opens its own units of work for what it changes).
3. Deliver the replies, then mark the inbound message handled.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.core.delivery import Delivery
from bot.core.deps import Deps
from bot.core.desk import DESK_COMMANDS, Takeover
from bot.core.locks import ChatLocks
from bot.core.messages import CallbackAnswer, ChatKind, Incoming, Relay, Reply, Sent
from bot.core.models import Conversation, Customer, Direction, LoggedMessage
from bot.core.ports import DuplicateUpdate, JobRequest
from bot.core.roles import Action, StaffMember
from bot.core.services import desk
from bot.core.services.customers import customer_locale, upsert_customer
from bot.core.services.ratings import schedule
from bot.core.services.staff import authorise

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Turn:
    """An update with what the core knows about its sender, handed to a handler."""

    msg: Incoming
    customer: Customer
    locale: str
    conversation: Conversation | None
    takeover: Takeover | None = None

    @property
    def name(self) -> str:
        return self.customer.first_name or self.customer.display_name


@dataclass(frozen=True, slots=True)
class StaffTurn:
    """An update from the staff group, handed to a staff handler. Staff are not customers:
    no customer record is made for them, and they are answered in the staff locale."""

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


class Dispatcher:
    """Runs updates through handlers. One per process; it owns the delivery pacing state."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.delivery = Delivery(deps)
        self._chat_locks = ChatLocks()
        self.in_flight = 0
        """Updates being handled right now (waiting for their chat's turn included)."""

    async def handle(self, msg: Incoming, handler: Handler) -> list[Sent]:
        """Handles one update; updates of one chat run one at a time, in arrival order, so a
        customer's quick second message never overtakes the first."""
        self.in_flight += 1
        try:
            async with self._chat_locks.hold(msg.chat_id):
                return await self._handle(msg, handler)
        finally:
            self.in_flight -= 1

    async def handle_staff(
        self, msg: Incoming, handler: StaffHandler, action: Action
    ) -> list[Sent]:
        """Handles a staff action from the staff group configured in settings. It runs only
        for a person on the roster whose role allows `action`; every attempt is audited, and
        a refused one is logged and answered with a short notice. Anything from another group
        is ignored and logged (never acted on)."""
        staff = self.deps.policies.staff
        if not staff.is_staff_group(msg.chat_id):
            log.warning(
                "staff action from chat %s (user %s) outside the staff group: ignored",
                msg.chat_id,
                msg.sender.id,
            )
            return []
        self.in_flight += 1
        try:
            async with self._chat_locks.hold(msg.chat_id):
                if not await self._record_staff(msg):
                    return []
                member = await self._authorise(msg, action)
                if member is None:
                    refusal = (
                        [CallbackAnswer(msg.callback_id, "staff.not_allowed")]
                        if msg.callback_id
                        else []
                    )
                    await self.delivery.deliver(refusal, staff.locale, msg.chat_id)
                    return []
                turn = StaffTurn(msg=msg, locale=staff.locale, member=member)
                results = await self._schedule(await handler(turn, self.deps))
                sent = await self.delivery.deliver(results, turn.locale, msg.chat_id)
                async with self.deps.uow() as uow:
                    await uow.messages.mark_handled(msg.update_id, self.deps.clock.now())
                    await uow.commit()
                return sent
        finally:
            self.in_flight -= 1

    async def _schedule(self, results: Sequence[Result]) -> list[Reply | Relay | CallbackAnswer]:
        """Schedules the jobs among a handler's results; returns the rest, to deliver."""
        await schedule(self.deps, [r for r in results if isinstance(r, JobRequest)])
        return [r for r in results if not isinstance(r, JobRequest)]

    async def _relay_to_agent(self, turn: Turn, deps: Deps) -> Sequence[Result]:
        """A customer whose chat an agent has taken over: the bot passes it on, nothing more."""
        assert turn.takeover is not None
        async with deps.uow() as uow:
            return await desk.customer_to_agent(
                uow, turn.msg, turn.customer, turn.takeover, deps.policies
            )

    async def _desk_agent(self, msg: Incoming) -> StaffMember | None:
        """The roster member writing privately about desk work (they have a chat taken over,
        reply to a relayed message, or use a desk command), else None: staff may also use
        the bot as customers do."""
        async with self.deps.uow() as uow:
            member = await uow.staff.get(msg.sender.id)
            if member is None:
                return None
            if msg.command in DESK_COMMANDS or msg.reply_to_message_id is not None:
                return member
            if msg.command is None and not msg.is_callback:
                return member if await uow.desk.for_agent(member.telegram_user_id) else None
        return None

    async def _handle_agent(self, msg: Incoming, agent: StaffMember) -> list[Sent]:
        """An agent's message in their private chat: to the customer, or a desk command."""
        deps = self.deps
        if not await self._record_staff(msg):
            return []
        if await self._authorise(msg, desk.desk_action(msg)) is None:
            return []
        locale = deps.policies.staff.locale
        async with deps.uow() as uow:
            target = await desk.target_of(uow, msg, agent)
            if target is None:
                none = not await uow.desk.for_agent(agent.telegram_user_id)
                raw: Sequence[Result] = [
                    Reply("desk.no_chat" if none else "desk.which_customer", chat_id=msg.chat_id)
                ]
            else:
                raw = await desk.agent_message(
                    uow,
                    msg,
                    agent,
                    target,
                    now=deps.clock.now(),
                    policies=deps.policies,
                    locales=deps.renderer.locales,
                )
            await uow.commit()
        results = await self._schedule(raw)  # after the commit, never inside it
        sent: list[Sent] = []
        for item in results:
            done = await self.delivery.deliver_one(item, locale, msg.chat_id)
            if done is not None:
                sent.append(done)
            elif target is not None and _chat_of(item) == target.customer_chat_id:
                # Not delivered to the customer: say why, so the agent is never left guessing.
                await self.delivery.deliver_one(
                    Reply(
                        "desk.undeliverable",
                        {"reachability": await self._reachability(target)},
                        chat_id=msg.chat_id,
                    ),
                    locale,
                    msg.chat_id,
                )
        async with deps.uow() as uow:
            await uow.messages.mark_handled(msg.update_id, deps.clock.now())
            await uow.commit()
        return sent

    async def _reachability(self, takeover: Takeover) -> str:
        async with self.deps.uow() as uow:
            customer = await uow.customers.get(takeover.customer_id)
        return customer.reachability.value if customer else "chat_gone"

    async def _authorise(self, msg: Incoming, action: Action) -> StaffMember | None:
        """The roster member allowed to do `action`, or None; audited either way."""
        async with self.deps.uow() as uow:
            member = await authorise(uow, msg, action, self.deps.clock.now())
            await uow.commit()
        return member

    async def _record_staff(self, msg: Incoming) -> bool:
        async with self.deps.uow() as uow:
            if await uow.messages.has_update(msg.update_id):
                return False
            try:
                await uow.messages.add(
                    LoggedMessage(
                        direction=Direction.IN,
                        chat_id=msg.chat_id,
                        at=msg.date,
                        text=msg.text if msg.text is not None else msg.callback_data,
                        telegram_message_id=msg.message_id,
                        update_id=msg.update_id,
                        content=msg.content.value,
                    )
                )
            except DuplicateUpdate:
                return False
            await uow.commit()
        return True

    async def _handle(self, msg: Incoming, handler: Handler) -> list[Sent]:
        if msg.chat_kind is not ChatKind.PRIVATE:
            log.debug("customer route got an update from a %s chat; ignored", msg.chat_kind)
            return []
        agent = await self._desk_agent(msg)
        if agent is not None:
            return await self._handle_agent(msg, agent)
        turn = await self._accept(msg)
        if turn is None:
            return []
        if turn.takeover is not None and not msg.is_callback:
            handler = self._relay_to_agent
        try:
            results = await self._schedule(await handler(turn, self.deps))
        except Exception:
            log.exception("handler %s failed on update %s", _name(handler), msg.update_id)
            raise
        sent = await self.delivery.deliver(results, turn.locale, msg.chat_id)
        async with self.deps.uow() as uow:
            await uow.messages.mark_handled(msg.update_id, self.deps.clock.now())
            await uow.commit()
        return sent

    async def _accept(self, msg: Incoming) -> Turn | None:
        deps = self.deps
        now = deps.clock.now()
        async with deps.uow() as uow:
            if await uow.messages.has_update(msg.update_id):
                log.info("update %s already handled; ignoring the re-delivery", msg.update_id)
                return None
            customer = await upsert_customer(uow, msg.sender, msg.chat_id, now)
            try:
                await uow.messages.add(
                    LoggedMessage(
                        direction=Direction.IN,
                        chat_id=msg.chat_id,
                        at=msg.date,
                        text=msg.text if msg.text is not None else msg.callback_data,
                        telegram_message_id=msg.message_id,
                        update_id=msg.update_id,
                        customer_id=customer.id,
                        content=msg.content.value,
                    )
                )
            except DuplicateUpdate:
                log.info("update %s recorded concurrently; ignoring", msg.update_id)
                return None
            conversation = await uow.conversations.get(msg.chat_id)
            takeover = await uow.desk.active(msg.chat_id)
            await uow.commit()
        locale = customer_locale(
            customer, deps.policies.locale.default_locale, deps.renderer.locales
        )
        return Turn(
            msg=msg,
            customer=customer,
            locale=locale,
            conversation=conversation,
            takeover=takeover,
        )


def _chat_of(item: Result) -> int | None:
    if isinstance(item, Relay | Reply):
        return item.chat_id
    return None


def _name(handler: Handler) -> str:
    return getattr(handler, "__qualname__", repr(handler))
