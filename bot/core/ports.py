"""The Protocols the core needs from the outside world.

`storage` implements the repositories and the unit of work, `bot.app.i18n` the renderer, each
adapter a messenger; tests use the in-memory fakes in ``tests/fakes.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, Protocol, Self

from bot.core.campaigns.model import Campaign, Recipient
from bot.core.campaigns.uplift import OrderRecord, RecipientOutcome
from bot.core.consent import ConsentChange, ConsentState
from bot.core.coupons import Coupon, OrderCoupon, Redemption
from bot.core.desk import Takeover
from bot.core.engagement.facts import CustomerFacts
from bot.core.engagement.news import NewsItem
from bot.core.loyalty import LoyaltyOrder, LoyaltyRedemption
from bot.core.messages import Outgoing, Sent
from bot.core.models import Conversation, Customer, LoggedMessage, SupportRequest
from bot.core.outbox_model import OutboxMessage, OutboxState, OutboxSummary
from bot.core.profile import Answer, ProfileAsk, ProfileFacts, ProfileField
from bot.core.ratings import Rating, Revisit, RevisitAnswer
from bot.core.records import CustomerExport, CustomerProfile, TierChange, TierInfo
from bot.core.roles import AuditEntry, StaffMember
from bot.core.staff_tasks import StaffTask, TaskChoice, TaskState
from bot.core.surveys import Survey
from bot.core.tickets import Ticket, TicketEvent
from bot.core.tiers import Tier
from bot.core.triage import TriageDecision


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Waits; a test clock just moves its time forward."""
        ...


class Messenger(Protocol):
    """Sends rendered messages to Telegram; raises :mod:`bot.core.errors` on failure."""

    async def send(self, message: Outgoing) -> Sent: ...

    async def answer_callback(self, callback_id: str, text: str | None = None) -> None: ...

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], language_code: str | None
    ) -> None:
        """Publishes the command menu (name, description) for one client language."""
        ...

    async def create_topic(self, chat_id: int, name: str, icon_color: int) -> int:
        """Creates a forum topic and returns its ``message_thread_id``."""
        ...


class Renderer(Protocol):
    """Turns a template key and parameters into Telegram HTML in one locale."""

    @property
    def locales(self) -> Sequence[str]: ...

    def render(self, key: str, locale: str, params: Mapping[str, Any] | None = None) -> str: ...

    def has(self, key: str, locale: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class FaqMatch:
    """The FAQ's verdict on a question: answer it, confirm first, or no match.

    `entry_id` names the FAQ entry (the same id in every locale); `score` is 0–100."""

    outcome: Literal["answer", "confirm", "none"]
    entry_id: str | None
    score: float
    locale: str | None = None


class FaqMatcher(Protocol):
    def match(self, text: str, locale: str) -> FaqMatch: ...


class Triager(Protocol):
    """Decides enquiry or complaint, and how severe (:class:`bot.core.triage.Triage`)."""

    def classify(self, text: str) -> TriageDecision: ...


class CustomerRepository(Protocol):
    async def get(self, customer_id: int) -> Customer | None: ...

    async def get_by_telegram_id(self, telegram_user_id: int) -> Customer | None: ...

    async def get_by_chat_id(self, chat_id: int) -> Customer | None: ...

    async def ids_by_chat_id(self, chat_ids: Collection[int]) -> dict[int, int]:
        """For each of `chat_ids` that is a customer's private chat, that customer's id (the
        oldest, should there be several), in one query; chats of nobody are left out."""
        ...

    async def add(self, customer: Customer) -> Customer:
        """Stores a new customer and returns it with its `id` set."""
        ...

    async def update(self, customer: Customer) -> None: ...


class MessageLogRepository(Protocol):
    async def has_update(self, update_id: int) -> bool: ...

    async def add(self, entry: LoggedMessage) -> LoggedMessage:
        """Stores the entry and returns it with its `id` set. Raises
        :class:`DuplicateUpdate` if an inbound entry with the same update id exists."""
        ...

    async def add_many(self, entries: Sequence[LoggedMessage]) -> None:
        """Stores these entries at once (the outbox logs what it sent a batch at a time);
        none may carry an update id (``ValueError``): those go through :meth:`add`."""
        ...

    async def mark_handled(self, update_id: int, at: datetime) -> None: ...

    async def find_sent(self, chat_id: int, telegram_message_id: int) -> LoggedMessage | None:
        """The outbound message the bot sent as `telegram_message_id` into `chat_id`."""
        ...

    async def for_chat(self, chat_id: int, limit: int = 100) -> list[LoggedMessage]:
        """The chat's most recent messages, oldest first."""
        ...

    async def posted_about(self, customer_id: int, own_chat_id: int | None) -> list[LoggedMessage]:
        """Messages the bot posted about the customer in other chats than their own (ticket
        cards, alerts, relays in staff chats) that Telegram still shows, oldest first."""
        ...


class ConversationRepository(Protocol):
    async def get(self, chat_id: int) -> Conversation | None: ...

    async def save(self, conversation: Conversation) -> None: ...

    async def clear(self, chat_id: int) -> None: ...


class SupportRequestRepository(Protocol):
    async def add(self, request: SupportRequest) -> SupportRequest: ...

    async def open_for_customer(self, customer_id: int) -> list[SupportRequest]: ...


SLA_MARKS = frozenset(
    {
        "first_response_warned_at",
        "resolution_warned_at",
        "first_response_breached_at",
        "resolution_breached_at",
    }
)
"""Ticket fields a sweep sets once, with :meth:`TicketRepository.mark_once`."""


class TicketRepository(Protocol):
    async def add(self, ticket: Ticket) -> Ticket:
        """Stores a new ticket; returns it with `id` and `number` set."""
        ...

    async def get(self, ticket_id: int) -> Ticket | None: ...

    async def get_by_number(self, number: str) -> Ticket | None: ...

    async def update(self, ticket: Ticket) -> None: ...

    async def open_for_customer(self, customer_id: int) -> list[Ticket]:
        """The customer's open tickets, newest first."""
        ...

    async def open_tickets(self, after_id: int = 0, limit: int = 500) -> list[Ticket]:
        """Open tickets with ids above `after_id`, by id: a sweep pages through them."""
        ...

    async def created_between(self, start: datetime, end: datetime) -> list[Ticket]: ...

    async def mark_once(self, ticket_id: int, field: str, at: datetime) -> bool:
        """Sets `field` (one of :data:`SLA_MARKS`) to `at` if it is still empty; True if this
        call set it. Two sweepers racing on one ticket: exactly one gets True."""
        ...

    async def add_event(self, event: TicketEvent) -> TicketEvent: ...

    async def events(self, ticket_id: int) -> list[TicketEvent]:
        """The ticket's history, oldest first."""
        ...


class CustomerRecordRepository(Protocol):
    """Customer records beyond the Telegram identity (SPEC §2, §12). Contact data is plain
    text here; the implementation encrypts it at rest and raises
    :class:`bot.core.records.PersonalDataError` when it has no key."""

    async def get_by_ref(self, customer_ref: str) -> Customer | None: ...

    async def profile(self, customer_id: int) -> CustomerProfile | None: ...

    async def save_profile(self, profile: CustomerProfile) -> None: ...

    async def find_by_phone(self, phone: str) -> list[Customer]:
        """Customers whose stored phone equals the normalised `phone` (blind index)."""
        ...

    async def absorb(self, source_id: int, target_id: int) -> None:
        """Moves the imported record `source_id` (reference, profile, orders, tiers) onto the
        Telegram customer `target_id` and deletes `source_id`."""
        ...

    async def consent(self, customer_id: int) -> ConsentState:
        """The customer's marketing consent (read without decrypting anything); a customer
        without a profile has the default: none, never given."""
        ...

    async def record_consent(self, change: ConsentChange) -> None:
        """Sets the profile's consent to the change (creating a profile that holds nothing
        but the consent when there is none) and appends the change to the consent log."""
        ...

    async def consent_log(self, customer_id: int) -> list[ConsentChange]:
        """Every consent change of the customer, oldest first."""
        ...

    async def export(self, customer_id: int) -> CustomerExport: ...

    async def forget(self, customer_id: int) -> None:
        """Erases personal data and message texts; anonymous counts stay."""
        ...


class CustomerTiers(Protocol):
    """Value tiers, RF segments and lifecycle stages as of the last recompute (SPEC §3)."""

    async def tier_of(self, customer_id: int) -> Tier | None:
        """The customer's tier (``Tier.PROSPECT`` without a paid order in the window); None
        before the first recompute that saw them."""
        ...

    async def standing(self, customer_id: int) -> TierInfo | None: ...

    async def history(self, customer_id: int) -> list[TierChange]:
        """Every change of the customer's tier, oldest first."""
        ...


class StaffRepository(Protocol):
    """The staff roster, dedicated advisors and the audit trail of staff actions."""

    async def get(self, telegram_user_id: int) -> StaffMember | None:
        """The roster entry of an active member, or None."""
        ...

    async def save(self, member: StaffMember) -> StaffMember:
        """Adds the member, or updates name, role and active flag of an existing one."""
        ...

    async def members(self, include_inactive: bool = False) -> list[StaffMember]: ...

    async def set_advisor(self, customer_id: int, staff_user_id: int | None) -> None:
        """Gives a customer a dedicated advisor (None: takes it away)."""
        ...

    async def advisor_of(self, customer_id: int) -> int | None: ...

    async def audit(self, entry: AuditEntry) -> None: ...

    async def audit_trail(self, telegram_user_id: int, limit: int = 100) -> list[AuditEntry]:
        """The member's most recent audited actions, oldest first."""
        ...


class RatingRepository(Protocol):
    """Satisfaction ratings (one per ticket) and after-sales revisits (one per ticket, planned
    again at each resolution)."""

    async def add(self, rating: Rating) -> bool:
        """Stores the rating unless the ticket already has one; True if this call stored it."""
        ...

    async def get(self, ticket_id: int) -> Rating | None: ...

    async def set_comment(self, ticket_id: int, comment: str) -> bool:
        """Keeps the comment unless the rating already has one; True if this call kept it."""
        ...

    async def for_tickets_created_between(self, start: datetime, end: datetime) -> list[Rating]:
        """Ratings of the tickets created in [start, end) (the monthly review)."""
        ...

    async def plan_revisit(self, ticket_id: int, customer_id: int, due_at: datetime) -> None:
        """Plans (or plans again, after a new resolution) the ticket's revisit, not yet sent."""
        ...

    async def get_revisit(self, ticket_id: int) -> Revisit | None: ...

    async def claim_revisit(self, ticket_id: int, now: datetime) -> bool:
        """Marks the revisit sent if it is due by `now` and not yet claimed; True if this call
        claimed it. Two runs racing on one revisit: exactly one gets True."""
        ...

    async def skip_revisit(self, ticket_id: int, reason: str) -> None:
        """Notes why a claimed revisit was not sent."""
        ...

    async def due_revisits(self, now: datetime, limit: int = 500) -> list[int]:
        """Ticket ids whose revisit is due by `now` and not yet claimed, oldest due first."""
        ...

    async def answer_revisit(self, ticket_id: int, answer: RevisitAnswer, at: datetime) -> bool:
        """Records the customer's first answer to a sent revisit; True if this call did."""
        ...


@dataclass(frozen=True, slots=True)
class JobRequest:
    """A timed job a use case wants, to be scheduled once its unit of work has committed."""

    job_id: str
    target: str
    at: datetime
    ids: tuple[int | str, ...] = ()


class JobScheduler(Protocol):
    """Timed jobs by ``"module:function"`` target with id-only arguments (``scheduler/``).
    Scheduling an existing `job_id` again replaces it. Call it after your unit of work has
    committed, never inside it."""

    async def schedule_at(
        self, job_id: str, target: str, at: datetime, *ids: int | str
    ) -> None: ...


class DeskRepository(Protocol):
    """Active take-overs of customer chats by agents (one per customer chat)."""

    async def active(self, customer_chat_id: int) -> Takeover | None: ...

    async def for_agent(self, agent_user_id: int) -> list[Takeover]:
        """The agent's active take-overs, oldest first."""
        ...

    async def start(self, takeover: Takeover) -> None: ...

    async def end(self, customer_chat_id: int) -> bool:
        """Hands the chat back to the bot; False if it was not taken over."""
        ...


class TopicRepository(Protocol):
    """Which forum topic of the staff group belongs to which ticket."""

    async def thread_of(self, ticket_id: int, chat_id: int) -> int | None: ...

    async def save(self, ticket_id: int, chat_id: int, thread_id: int) -> None:
        """Records (or replaces, after a topic was recreated) the ticket's topic."""
        ...

    async def ticket_of(self, chat_id: int, thread_id: int) -> int | None: ...

    async def of_customer(self, customer_id: int) -> list[tuple[int, int, int]]:
        """The topics of the customer's tickets: ``(ticket_id, chat_id, thread_id)``, in
        ticket order."""
        ...


@dataclass(frozen=True, slots=True)
class InboundUpdate:
    """A Telegram update as received: its id, its chat (when it has one) and its Bot API
    JSON, exactly what is needed to hand it to the framework again after a restart."""

    update_id: int
    chat_id: int | None
    payload: Mapping[str, Any]


class InboxRepository(Protocol):
    """Updates accepted from Telegram and not handled yet (issue #9: nothing accepted is lost).

    An adapter records every fetched batch here before it asks Telegram for the next offset
    (which confirms the batch). An update leaves the inbox in the transaction that marks it
    handled in the message log (:meth:`MessageLogRepository.mark_handled`), or by
    :meth:`discard` when the core has nothing to do for it; what is still here after a crash
    or a stop is handled at the next start."""

    async def add_new(self, updates: Sequence[InboundUpdate], at: datetime) -> list[int]:
        """Records the updates that are neither waiting here nor already handled (their
        update id is in the message log); returns the ids it recorded, in the given order."""
        ...

    async def is_waiting(self, update_id: int) -> bool:
        """True while the update is accepted and not handled."""
        ...

    async def waiting(self, after_update_id: int = 0, limit: int = 100) -> list[InboundUpdate]:
        """Waiting updates with an id above `after_update_id`, oldest (lowest id) first."""
        ...

    async def discard(self, update_id: int) -> None:
        """Forgets a waiting update the core has nothing to do for (no-op if not waiting)."""
        ...

    async def older_waiting(self, chat_id: int, update_id: int) -> list[int]:
        """Ids of the waiting updates of `chat_id` older (lower id) than `update_id`."""
        ...


class OutboxRepository(Protocol):
    """Messages waiting to be sent (:mod:`bot.core.outbox`). Every state change but
    :meth:`enqueue` is a conditional update (on one row, or on each row of a ``_many``
    call: only rows in the expected state change); the unit of work commits."""

    async def enqueue(self, item: OutboxMessage) -> int | None:
        """Adds `item` and returns its id; None, writing nothing, if its key is taken."""
        ...

    async def enqueue_many(self, items: Sequence[OutboxMessage]) -> list[str]:
        """Adds every item whose key is not taken (already stored, or earlier in `items`),
        in a few multi-row statements rather than one each; returns the keys it wrote (as
        many as were new), so a caller can write what belongs to each new row (a coupon)."""
        ...

    async def get(self, outbox_id: int) -> OutboxMessage | None: ...

    async def due(self, now: datetime, stale_before: datetime, limit: int) -> list[OutboxMessage]:
        """Rows a sender may claim: pending with ``not_before <= now``, or sending since
        before `stale_before` (their sender died); service lane first, then oldest first."""
        ...

    async def claim(
        self, outbox_id: int, worker: str, now: datetime, stale_before: datetime | None
    ) -> bool:
        """Pending (or, with `stale_before`, sending since before it) → sending, claimed by
        `worker` at `now`; True only for the one caller whose update changed the row."""
        ...

    async def claim_many(
        self, outbox_ids: Sequence[int], worker: str, now: datetime, stale_before: datetime | None
    ) -> list[int]:
        """:meth:`claim` for many rows in one statement; the ids this call won, in the order
        given. Of two callers (two processes) each row goes to one only."""
        ...

    async def refresh_claims(self, outbox_ids: Sequence[int], worker: str, now: datetime) -> int:
        """Of these rows, those still ``sending`` and claimed by `worker` are claimed again
        at `now` (a live sender's heartbeat: a row it still holds never looks stale to
        another sender, however long Telegram makes it wait); returns how many."""
        ...

    async def mark_sent(self, outbox_id: int, at: datetime, telegram_message_id: int) -> None: ...

    async def mark_sent_many(self, sent: Sequence[tuple[int, int]], at: datetime) -> None:
        """:meth:`mark_sent` for many rows at once: (outbox id, Telegram's message id) each;
        a row no longer ``sending`` is left as it is."""
        ...

    async def finish(self, outbox_id: int, state: OutboxState, reason: str, attempts: int) -> None:
        """Ends a row as failed or skipped, with Telegram's reason."""
        ...

    async def release(
        self, outbox_id: int, reason: str, attempts: int, not_before: datetime
    ) -> None:
        """Back to pending after a transient failure, not to be tried before `not_before`."""
        ...

    async def summary(self, errors: int = 5, watch: Sequence[int] = ()) -> OutboxSummary:
        """Counts, the oldest pending row, the latest `errors` failures and, for the chats in
        `watch`, those whose rows keep failing (:attr:`OutboxSummary.failing_chats`)."""
        ...

    async def requeue(self, outbox_id: int, now: datetime) -> bool:
        """A failed or skipped row back to pending, its attempts reset; False otherwise."""
        ...

    async def requeue_failed(self, now: datetime) -> int:
        """Every failed row back to pending; returns how many."""
        ...

    async def claimants(self) -> list[str]:
        """The workers that hold rows in ``sending``, each once."""
        ...

    async def release_claims(self, worker: str, reason: str, now: datetime) -> int:
        """Every row `worker` holds in ``sending`` back to pending, due at `now` (the worker
        stopped or died); returns how many."""
        ...


class EngagementFactsReader(Protocol):
    """The engagement engine's read model (:class:`~bot.core.engagement.facts.CustomerFacts`):
    one customer with their standing, profile, orders, complaints, ratings and the engagement
    messages already in the outbox. Read-only."""

    async def customer_facts(self, after_id: int = 0, limit: int = 500) -> list[CustomerFacts]:
        """Customers with an id above `after_id`, in id order, at most `limit` (page on by
        passing the last id). A birthday is read only when personal data can be decrypted."""
        ...


class CouponRepository(Protocol):
    """Issued coupons (:mod:`bot.core.coupons`)."""

    async def add(self, coupon: Coupon) -> Coupon:
        """Stores a new coupon and returns it with its `id`; its code, and its source and
        reference together, are unique (a duplicate fails the transaction)."""
        ...

    async def get_by_code(self, code: str) -> Coupon | None:
        """The coupon with this code, as stored (``K7QM-3XHP``)."""
        ...

    async def for_customer(self, customer_id: int) -> list[Coupon]:
        """The customer's coupons, newest first — theirs only."""
        ...

    async def redeem(self, orders: Sequence[OrderCoupon], at: datetime) -> Counter[Redemption]:
        """Redeems what these orders' codes allow (:func:`bot.core.coupons.judge`); how many
        orders came to each outcome."""
        ...


class LoyaltyRepository(Protocol):
    """What loyalty points are derived from (:mod:`bot.core.loyalty`)."""

    async def orders(self, customer_id: int) -> list[LoyaltyOrder]:
        """The customer's orders, oldest first; `paid_at` is the payment time (the order's
        creation when a paid order came without one)."""
        ...

    async def redemptions(self, customer_id: int) -> list[LoyaltyRedemption]:
        """The customer's conversions of points into coupons, oldest first."""
        ...

    async def add_redemption(self, redemption: LoyaltyRedemption) -> None: ...


class NewsRepository(Protocol):
    """Product news items (:mod:`bot.core.engagement.news`)."""

    async def add(self, item: NewsItem) -> NewsItem:
        """Stores a new item (its `id` is ignored) and returns it with its id."""
        ...

    async def since(self, moment: datetime) -> list[NewsItem]:
        """Items added after `moment`, oldest first, every locale."""
        ...


class CampaignRepository(Protocol):
    """Campaigns and their frozen recipients (:mod:`bot.core.campaigns`)."""

    async def add(self, campaign: Campaign) -> Campaign:
        """Stores a new campaign and returns it with its `id`."""
        ...

    async def get(self, campaign_id: int, *, for_update: bool = False) -> Campaign | None:
        """The campaign; with `for_update`, its row locked until the transaction ends (a
        state change waits for a batch or a run's end in flight, then sees their outcome)."""
        ...

    async def all(self) -> list[Campaign]:
        """Every campaign, newest first."""
        ...

    async def save(self, campaign: Campaign) -> None:
        """Writes the campaign's state, schedule and run fields (its spec does not change)."""
        ...

    async def due(self, now: datetime) -> list[int]:
        """Scheduled campaigns whose next run is at or before `now`, oldest due first."""
        ...

    async def running(self) -> list[int]:
        """Campaigns in the running state, by id."""
        ...

    async def add_recipients(self, recipients: Sequence[Recipient]) -> None:
        """Stores one run's newly frozen recipients (each (campaign, run, customer) once)."""
        ...

    async def pending(self, campaign_id: int, run: int, limit: int) -> list[Recipient]:
        """The run's undecided recipients, by customer id, at most `limit`."""
        ...

    async def decide(self, recipients: Sequence[Recipient]) -> None:
        """Writes the status, reason, hold and moment of each recipient still pending."""
        ...

    async def cancel_pending(self, campaign_id: int, at: datetime) -> int:
        """Every undecided recipient of the campaign becomes cancelled; returns how many."""
        ...

    async def in_outbox(self, campaign_id: int) -> int:
        """The campaign's outbox rows not sent, failed or skipped yet (paused ones too)."""
        ...

    async def lock_running(self, campaign_id: int) -> bool:
        """True if the campaign is running, holding its row until the unit of work ends (a
        conditional update), so a pause or cancel committed meanwhile waits for this batch
        and then sees its rows, or this batch sees the pause and writes nothing."""
        ...

    async def pause_outbox(self, campaign_id: int) -> int:
        """The campaign's pending outbox rows (every run) become paused; how many. A row a
        sender has claimed already (``sending``) is on its way and goes."""
        ...

    async def resume_outbox(self, campaign_id: int) -> int:
        """The campaign's paused outbox rows are pending again (each keeps its
        ``not_before``); how many."""
        ...

    async def cancel_outbox(self, campaign_id: int, at: datetime) -> int:
        """The campaign's pending and paused outbox rows are skipped (``last_error``
        :data:`~bot.core.campaigns.model.CANCELLED_REASON`), their queued recipients
        cancelled at `at`, so the report counts them as cancelled, and the coupons those rows
        carried withdrawn (deleted: nobody was told of them, so ``/coupons`` must not list
        them); how many rows."""
        ...

    async def progress(self, campaign_id: int) -> dict[str, int]:
        """Recipients of the campaign (every run) by status."""
        ...

    async def outcomes(self, campaign_id: int, run: int | None = None) -> list[RecipientOutcome]:
        """Every recipient of the campaign (or of one run) with its outbox row's state."""
        ...

    async def orders_of(
        self, customer_ids: Collection[int], since: datetime, until: datetime
    ) -> list[OrderRecord]:
        """Orders of these customers created in [since, until)."""
        ...

    async def coupons(self, campaign_id: int) -> tuple[int, int]:
        """Coupons the campaign issued, and how many of them were redeemed."""
        ...


class StaffTaskRepository(Protocol):
    """Staff tasks (:mod:`bot.core.staff_tasks`), unique per (kind, customer, period)."""

    async def add(self, task: StaffTask) -> StaffTask | None:
        """Stores a new task and returns it with its id; None (nothing stored) when a task
        of its kind, customer and period exists already."""
        ...

    async def get(self, task_id: int) -> StaffTask | None: ...

    async def decide(
        self, task_id: int, state: TaskState, choice: TaskChoice, by: int, at: datetime
    ) -> bool:
        """Records the choice if the task is still open (one conditional update: of two
        presses at once, one wins); False if it was not open."""
        ...

    async def listing(self, *, open_only: bool = False, limit: int = 500) -> list[StaffTask]:
        """Tasks newest first (open ones only with `open_only`)."""
        ...


class SurveyRepository(Protocol):
    """Satisfaction surveys (:mod:`bot.core.surveys`), unique per (customer, rule, period)."""

    async def add(self, survey: Survey) -> Survey | None:
        """Stores a survey being sent and returns it with its id; None (nothing stored) when
        that customer's survey of that rule and period exists already."""
        ...

    async def get(self, survey_id: int) -> Survey | None: ...

    async def answer(self, survey_id: int, score: int, at: datetime) -> None:
        """Records (or changes) the score and the moment of the answer."""
        ...

    async def set_comment(self, survey_id: int, comment: str) -> bool:
        """Keeps the first comment only; False if the survey had one."""
        ...

    async def sent_between(self, start: datetime, end: datetime) -> list[Survey]:
        """Surveys sent in [start, end), oldest first."""
        ...


class ProfileRepository(Protocol):
    """Profile completion (:mod:`bot.core.profile`): the fields asked of each customer (at most
    once per field), the time zone a customer gives, and what the report reads."""

    async def asked(self, customer_id: int) -> dict[ProfileField, ProfileAsk]:
        """The fields asked of the customer so far, with what became of each."""
        ...

    async def record_ask(self, customer_id: int, field: ProfileField, at: datetime) -> bool:
        """Records that `field` is being asked now; False (nothing written) when it was asked
        before."""
        ...

    async def answer(
        self, customer_id: int, field: ProfileField, answer: Answer, at: datetime
    ) -> None:
        """Records what became of the ask (the first answer only; none without an ask)."""
        ...

    async def set_timezone(self, customer_id: int, zone: str, at: datetime) -> None:
        """Keeps the customer's time zone (an IANA name the caller has validated)."""
        ...

    async def first_orders_since(
        self, since: datetime, after_id: int = 0, limit: int = 500
    ) -> list[int]:
        """Customers with a chat with the bot whose first recorded order (any status) was
        created at or after `since`, with ids above `after_id`, by id (page on by the last)."""
        ...

    async def active_facts(self, stages: Collection[str]) -> list[ProfileFacts]:
        """The profile facts of every customer whose lifecycle stage (as the tiers were last
        computed) is one of `stages`, with their tier."""
        ...


class DuplicateUpdate(Exception):
    """The update was already recorded: a re-delivery, to be ignored."""


class UnitOfWork(Protocol):
    """One transaction over all repositories. Repositories never commit; the unit of work
    commits when asked and rolls back whatever was not committed when it closes."""

    customers: CustomerRepository
    messages: MessageLogRepository
    conversations: ConversationRepository
    requests: SupportRequestRepository
    records: CustomerRecordRepository
    tiers: CustomerTiers
    tickets: TicketRepository
    staff: StaffRepository
    desk: DeskRepository
    topics: TopicRepository
    ratings: RatingRepository
    inbox: InboxRepository
    outbox: OutboxRepository
    engagement: EngagementFactsReader
    coupons: CouponRepository
    loyalty: LoyaltyRepository
    news: NewsRepository
    campaigns: CampaignRepository
    tasks: StaffTaskRepository
    surveys: SurveyRepository
    profile: ProfileRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
