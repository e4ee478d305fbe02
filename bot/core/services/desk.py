"""The agent desk in direct mode: an agent takes a customer's chat over from the bot and the
conversation runs through the agent's own private chat with the bot.

* Customer → agent: text arrives as one message naming the customer and ticket; anything
  else (photo, document, voice, sticker, location…) is copied with that name as caption.
* Agent → customer: the agent replies to a relayed message (or, working one chat, just
  writes); text goes out signed with the agent's first name if the deployment wants, anything
  else is copied, so the agent's own account stays private.
* ``/note`` adds an internal note the customer never sees, ``/release`` hands the chat back
  to the bot, ``/resolve`` resolves the ticket and hands the chat back, ``/transfer <id>``
  passes the chat to a colleague on the roster who may take chats over.

Everything the desk does is recorded on the ticket as events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.core.deps import Deps
from bot.core.desk import Takeover
from bot.core.messages import CallbackAnswer, ContentKind, Incoming, Relay, Reply, TopicRef
from bot.core.models import Customer
from bot.core.policies import Policies
from bot.core.ports import JobRequest, UnitOfWork
from bot.core.roles import Action, StaffMember, can
from bot.core.services.customers import customer_locale
from bot.core.services.tickets import Outcome, ticket_topic, transition
from bot.core.tickets import EventKind, Ticket, TicketError, TicketEvent, TicketState

Result = Reply | Relay | JobRequest


def _name(customer: Customer) -> str:
    return customer.first_name or customer.display_name


async def take_over(
    uow: UnitOfWork,
    ticket_id: int,
    agent: StaffMember,
    *,
    now: datetime,
    policies: Policies,
    locales: Sequence[str],
) -> Outcome:
    """The agent owns the ticket's chat from now on; the customer and the agent are told."""
    ticket = await uow.tickets.get(ticket_id)
    if ticket is None or ticket.id is None:
        raise TicketError(f"no ticket {ticket_id}")
    customer = await uow.customers.get(ticket.customer_id)
    if customer is None or customer.id is None or customer.chat_id is None:
        raise TicketError("the customer of this ticket cannot be reached on Telegram")
    current = await uow.desk.active(customer.chat_id)
    if current is not None and current.agent_user_id != agent.telegram_user_id:
        raise TicketError("another agent is already talking to this customer")
    await uow.desk.start(
        Takeover(customer.chat_id, customer.id, ticket.id, agent.telegram_user_id, now)
    )
    await uow.tickets.add_event(
        TicketEvent(
            ticket.id,
            now,
            f"staff:{agent.telegram_user_id}",
            EventKind.NOTE,
            note="took over the chat",
            data={"takeover": True},
        )
    )
    replies: list[Reply] = []
    if ticket.state in (TicketState.RECEIVED, TicketState.ACKNOWLEDGED):
        moved = await transition(
            uow,
            ticket.id,
            TicketState.INVESTIGATING,
            actor=f"staff:{agent.telegram_user_id}",
            now=now,
            policies=policies,
            locales=locales,
        )
        ticket = moved.ticket
    locale = customer_locale(customer, policies.locale.default_locale, locales)
    replies.append(
        Reply(
            "desk.joined",
            {"name": _name(customer), "agent": agent.name.split()[0], "number": ticket.number},
            chat_id=customer.chat_id,
            locale=locale,
        )
    )
    in_topic = policies.staff.desk_in_topics
    replies.append(
        Reply(
            "desk.taken",
            {"number": ticket.number, "customer": customer.display_name, "text": ticket.text},
            chat_id=policies.staff.group_chat_id if in_topic else agent.telegram_user_id,
            locale=policies.staff.locale,
            topic=ticket_topic(ticket, customer.display_name, None) if in_topic else None,
            about_customer_id=customer.id,
        )
    )
    return Outcome(ticket, replies)


async def customer_to_agent(
    uow: UnitOfWork, msg: Incoming, customer: Customer, takeover: Takeover, policies: Policies
) -> list[Result]:
    """Relays what the customer sent to the agent who has their chat."""
    ticket = await uow.tickets.get(takeover.ticket_id)
    number = ticket.number if ticket else ""
    params = {"customer": customer.display_name, "number": number}
    destination, topic = takeover.agent_user_id, None
    group = policies.staff.group_chat_id
    if policies.staff.desk_in_topics and group is not None and ticket:
        destination = group
        topic = ticket_topic(ticket, customer.display_name, None)
    if msg.content is ContentKind.TEXT and msg.text is not None:
        return [
            Reply(
                "desk.from_customer_edited" if msg.edited else "desk.from_customer",
                {**params, "text": msg.text},
                chat_id=destination,
                locale=policies.staff.locale,
                about_customer_id=customer.id,
                topic=topic,
            )
        ]
    assert msg.message_id is not None
    return [
        Relay(
            msg.chat_id,
            msg.message_id,
            destination,
            topic=topic,
            caption_key="desk.from_customer_caption",
            params=params,
            locale=policies.staff.locale,
            about_customer_id=customer.id,
        )
    ]


async def target_of(uow: UnitOfWork, msg: Incoming, agent: StaffMember) -> Takeover | None:
    """Which of the agent's chats a message is for: the customer of the relayed message it
    replies to, else the agent's only chat; None when that is ambiguous or there is none."""
    if msg.reply_to_message_id is not None:
        sent = await uow.messages.find_sent(msg.chat_id, msg.reply_to_message_id)
        if sent is not None and sent.customer_id is not None:
            customer = await uow.customers.get(sent.customer_id)
            if customer is not None and customer.chat_id is not None:
                found = await uow.desk.active(customer.chat_id)
                if found is not None and found.agent_user_id == agent.telegram_user_id:
                    return found
    mine = await uow.desk.for_agent(agent.telegram_user_id)
    return mine[0] if len(mine) == 1 else None


@dataclass(frozen=True, slots=True)
class DeskWork:
    """What every desk use case starts from: the agent's message, the agent, and the taken-over
    chat it is about, with the customer and ticket already loaded."""

    msg: Incoming
    agent: StaffMember
    customer: Customer
    ticket: Ticket
    now: datetime
    policies: Policies
    locale: str
    """The customer's locale."""

    @property
    def actor(self) -> str:
        return f"staff:{self.agent.telegram_user_id}"

    def to_agent(self, key: str, **params: object) -> Reply:
        return Reply(key, params, chat_id=self.msg.chat_id, locale=self.policies.staff.locale)


DeskUseCase = Callable[[UnitOfWork, DeskWork, Sequence[str]], Awaitable[Sequence[Result]]]
"""One desk command, run inside the caller's unit of work."""


async def desk_work(
    uow: UnitOfWork,
    msg: Incoming,
    agent: StaffMember,
    takeover: Takeover,
    *,
    now: datetime,
    policies: Policies,
    locales: Sequence[str],
) -> DeskWork | None:
    """Loads the customer and ticket of `takeover`; None (and the take-over ended) when
    either is gone."""
    customer = await uow.customers.get(takeover.customer_id)
    ticket = await uow.tickets.get(takeover.ticket_id)
    if customer is None or ticket is None or ticket.id is None or customer.chat_id is None:
        await uow.desk.end(takeover.customer_chat_id)
        return None
    locale = customer_locale(customer, policies.locale.default_locale, locales)
    return DeskWork(msg, agent, customer, ticket, now, policies, locale)


async def note(uow: UnitOfWork, work: DeskWork, locales: Sequence[str]) -> list[Result]:
    """``/note <text>``: an internal note on the ticket; the customer sees nothing."""
    assert work.ticket.id is not None
    await uow.tickets.add_event(
        TicketEvent(
            work.ticket.id, work.now, work.actor, EventKind.NOTE, note=work.msg.args or None
        )
    )
    return [work.to_agent("desk.note_saved", number=work.ticket.number)]


async def release(uow: UnitOfWork, work: DeskWork, locales: Sequence[str]) -> list[Result]:
    """``/release``: the bot answers the customer by itself again."""
    assert work.ticket.id is not None and work.customer.chat_id is not None
    await uow.desk.end(work.customer.chat_id)
    await uow.tickets.add_event(
        TicketEvent(
            work.ticket.id,
            work.now,
            work.actor,
            EventKind.NOTE,
            note="released the chat",
            data={"takeover": False},
        )
    )
    return [
        Reply(
            "desk.released",
            {"name": _name(work.customer)},
            chat_id=work.customer.chat_id,
            locale=work.locale,
        ),
        work.to_agent("desk.released_agent", number=work.ticket.number),
    ]


async def resolve(uow: UnitOfWork, work: DeskWork, locales: Sequence[str]) -> list[Result]:
    """``/resolve [note]``: the ticket is resolved and the chat handed back to the bot."""
    assert work.ticket.id is not None and work.customer.chat_id is not None
    outcome = await transition(
        uow,
        work.ticket.id,
        TicketState.RESOLVED,
        actor=work.actor,
        now=work.now,
        policies=work.policies,
        locales=locales,
        note=work.msg.args or None,
    )
    await uow.desk.end(work.customer.chat_id)
    return [
        *outcome.replies,
        *outcome.jobs,
        work.to_agent("desk.resolved_agent", number=work.ticket.number),
    ]


async def reply(uow: UnitOfWork, work: DeskWork, locales: Sequence[str]) -> list[Result]:
    """Anything else the agent sends goes to the customer (the first answer is the ticket's
    first human response)."""
    ticket, customer, msg = work.ticket, work.customer, work.msg
    assert ticket.id is not None and customer.chat_id is not None
    if ticket.first_response_at is None:
        ticket.first_response_at = work.now
        await uow.tickets.add_event(
            TicketEvent(ticket.id, work.now, work.actor, EventKind.FIRST_RESPONSE)
        )
        await uow.tickets.update(ticket)
    if (
        msg.content is ContentKind.TEXT
        and msg.text is not None
        and work.policies.staff.sign_replies
    ):
        return [
            Reply(
                "desk.agent_says",
                {"text": msg.text, "agent": work.agent.name.split()[0]},
                chat_id=customer.chat_id,
                locale=work.locale,
            )
        ]
    assert msg.message_id is not None
    return [Relay(msg.chat_id, msg.message_id, customer.chat_id, about_customer_id=customer.id)]


async def topic_target(
    uow: UnitOfWork,
    msg: Incoming,
    agent: StaffMember,
    *,
    now: datetime,
    policies: Policies,
    allow_without_takeover: bool = False,
) -> tuple[Takeover, TopicRef] | Reply | None:
    """The taken-over chat a message in a ticket's topic is about (topic mode), with the
    topic to answer in; a pointer to take the chat over first when nobody has; None for a
    topic that is not a ticket's. A note (`allow_without_takeover`) needs no take-over."""
    if msg.thread_id is None:
        return None
    ticket_id = await uow.topics.ticket_of(msg.chat_id, msg.thread_id)
    ticket = await uow.tickets.get(ticket_id) if ticket_id is not None else None
    if ticket is None or ticket.id is None:
        return None
    customer = await uow.customers.get(ticket.customer_id)
    topic = ticket_topic(ticket, customer.display_name if customer else "", None)
    takeover = (
        await uow.desk.active(customer.chat_id)
        if customer is not None and customer.chat_id is not None
        else None
    )
    if takeover is not None and takeover.ticket_id == ticket.id:
        return takeover, topic
    if allow_without_takeover and customer is not None:
        return (
            Takeover(
                customer.chat_id or 0, ticket.customer_id, ticket.id, agent.telegram_user_id, now
            ),
            topic,
        )
    return Reply(
        "desk.take_over_first",
        {"number": ticket.number},
        chat_id=msg.chat_id,
        locale=policies.staff.locale,
        topic=topic,
    )


def into_topic(
    results: Sequence[Reply | Relay | CallbackAnswer | JobRequest], chat_id: int, topic: TopicRef
) -> list[Reply | Relay | CallbackAnswer | JobRequest]:
    """Notices to the staff group answer in the ticket's topic."""
    return [
        replace(r, topic=topic) if isinstance(r, Reply | Relay) and r.chat_id == chat_id else r
        for r in results
    ]


async def transfer(uow: UnitOfWork, work: DeskWork, locales: Sequence[str]) -> list[Result]:
    """``/transfer <telegram user id> [note for the colleague]``: the chat passes to another
    active roster member whose role may take chats over. The customer hears who is helping
    now, both agents are told, and the ticket records it. Anything else (no such person, a
    role that may not, oneself) changes nothing and says why."""
    msg, agent, customer, ticket, now = work.msg, work.agent, work.customer, work.ticket, work.now
    locale, staff_locale = work.locale, work.policies.staff.locale
    assert ticket.id is not None and customer.id is not None and customer.chat_id is not None
    raw, _, note = msg.args.strip().partition(" ")

    def notice(key: str, **params: object) -> list[Result]:
        return [Reply(key, params, chat_id=msg.chat_id, locale=staff_locale)]

    if not raw.isdigit():
        return notice("desk.transfer_usage")
    colleague = await uow.staff.get(int(raw))
    if colleague is None:
        return notice("desk.transfer_unknown", user_id=int(raw))
    if colleague.telegram_user_id == agent.telegram_user_id:
        return notice("desk.transfer_self", number=ticket.number)
    if not can(colleague.role, Action.TAKE_OVER):
        return notice("desk.transfer_not_allowed", colleague=colleague.name)
    await uow.desk.start(
        Takeover(customer.chat_id, customer.id, ticket.id, colleague.telegram_user_id, now)
    )
    await uow.tickets.add_event(
        TicketEvent(
            ticket.id,
            now,
            f"staff:{agent.telegram_user_id}",
            EventKind.NOTE,
            note=note.strip() or "transferred the chat",
            data={
                "takeover": True,
                "transfer": {"from": agent.telegram_user_id, "to": colleague.telegram_user_id},
            },
        )
    )
    return [
        Reply(
            "desk.transferred",
            {"name": _name(customer), "agent": colleague.name.split()[0], "number": ticket.number},
            chat_id=customer.chat_id,
            locale=locale,
        ),
        Reply(
            "desk.transferred_agent",
            {"number": ticket.number, "colleague": colleague.name},
            chat_id=msg.chat_id,
            locale=staff_locale,
        ),
        Reply(
            "desk.transferred_to_you",
            {
                "number": ticket.number,
                "customer": customer.display_name,
                "text": ticket.text,
                "colleague": agent.name,
                "note": note.strip() or None,
            },
            chat_id=colleague.telegram_user_id,
            locale=staff_locale,
            about_customer_id=customer.id,
        ),
    ]


# --- use cases: each opens, decides and commits its own unit of work -------------------------


async def _run(
    uow: UnitOfWork,
    deps: Deps,
    msg: Incoming,
    agent: StaffMember,
    use_case: DeskUseCase,
    takeover: Takeover,
) -> Sequence[Result]:
    work = await desk_work(
        uow,
        msg,
        agent,
        takeover,
        now=deps.clock.now(),
        policies=deps.policies,
        locales=deps.renderer.locales,
    )
    if work is None:
        return [Reply("desk.gone", chat_id=msg.chat_id, locale=deps.policies.staff.locale)]
    return await use_case(uow, work, deps.renderer.locales)


async def in_private_chat(
    deps: Deps, msg: Incoming, agent: StaffMember, use_case: DeskUseCase
) -> Sequence[Result]:
    """Direct mode: runs `use_case` on the chat the agent means — the one whose relayed
    message they reply to, else their only one; otherwise they are asked which."""
    async with deps.uow() as uow:
        target = await target_of(uow, msg, agent)
        if target is None:
            working = await uow.desk.for_agent(agent.telegram_user_id)
            key = "desk.which_customer" if working else "desk.no_chat"
            return [Reply(key, chat_id=msg.chat_id, locale=deps.policies.staff.locale)]
        results = await _run(uow, deps, msg, agent, use_case, target)
        await uow.commit()
    return results


async def in_ticket_topic(
    deps: Deps, msg: Incoming, agent: StaffMember, use_case: DeskUseCase
) -> Sequence[Reply | Relay | CallbackAnswer | JobRequest]:
    """Topic mode: runs `use_case` on the chat of the ticket whose topic the message is in;
    notices answer in that topic. Chatter in topics that are not a ticket's is left alone; a
    ticket whose chat nobody has taken over gets a pointer (a note needs no take-over)."""
    if not msg.is_topic_message:
        return []
    async with deps.uow() as uow:
        target = await topic_target(
            uow,
            msg,
            agent,
            now=deps.clock.now(),
            policies=deps.policies,
            allow_without_takeover=use_case is note,
        )
        if target is None or isinstance(target, Reply):
            return [target] if target is not None else []
        takeover, topic = target
        results = await _run(uow, deps, msg, agent, use_case, takeover)
        await uow.commit()
    return into_topic(results, msg.chat_id, topic)


async def relay_customer(
    deps: Deps, msg: Incoming, customer: Customer, takeover: Takeover
) -> list[Result]:
    """A customer whose chat an agent has taken over: what they sent goes to the agent."""
    async with deps.uow() as uow:
        return await customer_to_agent(uow, msg, customer, takeover, deps.policies)
