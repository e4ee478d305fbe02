"""The outbox: messages a scheduled job decided to send, kept in the database until sent.

A job (the SLA sweep, the after-sales revisit) renders its messages at once and writes them
as outbox rows in the very unit of work that records its decision (:func:`enqueue`), each
under an idempotency key (``sla:<ticket>:<action>:<chat>``, ``revisit:<ticket>``) that the
database keeps unique: a job run twice, or by two processes, enqueues once.

:class:`OutboxSender` runs in every process. It claims due rows with one conditional update
per batch that only one process can win for each row (``pending`` → ``sending``), sends each
through :meth:`~bot.core.delivery.Delivery.send_once` (the bot's one pacer and error
handling), and then records the outcomes a batch per transaction: the sent rows with three
bulk statements however many they are (mark sent, find their customers, log them), the
others row by row. Service rows go before proactive ones, oldest first. At Telegram's paid
rate (1000/s) per-row statements, not Telegram, were the limit. What a failure leaves:

- 429: Delivery pauses the whole bot and retries the same row (it stays claimed);
- 403 / "chat not found": ``skipped`` with Telegram's reason (the customer is marked
  unreachable, as for any send);
- any other 400: ``failed`` with Telegram's reason;
- a network error or 5xx: back to ``pending`` with ``attempts + 1`` and ``not_before`` pushed
  back (doubling from ``backoff_initial_seconds`` up to ``backoff_max_seconds``); ``failed``
  once ``max_attempts`` is reached.

**The duplicate bound.** A row left ``sending`` by a process that died is claimed again once
``claim_timeout_seconds`` have passed since its claim. Telegram may already have delivered it
(the crash came after the send, before ``sent`` was committed), so a crash can repeat at most
the rows that were claimed and not yet marked sent at that moment: at most ``batch_size`` per
process that died (``outbox_paid_batch_size`` with paid broadcasts on), and never a row whose
``sent`` was committed. No row is lost: every row ends ``sent``, ``skipped`` or ``failed`` (and
``rapport outbox retry`` puts a failed one back). The timeout must exceed the longest time one
send can take (a 429 pause included), or a slow but live sender's row could be claimed and sent
a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.delivery import UNCERTAIN, Delivery, SendOutcome, SendResult, render_reply
from bot.core.deps import Deps
from bot.core.messages import CallbackAnswer, Outgoing, Relay, Reply, Sent
from bot.core.outbox_model import Lane, OutboxMessage, OutboxState, OutboxSummary
from bot.core.policies import doubling_wait
from bot.core.ports import UnitOfWork
from bot.core.retry import retrying

__all__ = [
    "Delivered",
    "Lane",
    "OutboxMessage",
    "OutboxPolicy",
    "OutboxSender",
    "OutboxState",
    "OutboxSummary",
    "SendWindow",
    "enqueue",
    "enqueue_rendered",
    "recover",
    "release_own",
    "send_now",
    "send_results",
    "worker_name",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    """The sender's numbers; built from the settings at the composition root."""

    batch_size: int = 50
    """Rows one sender has in flight, sent or being sent and not yet recorded (the most one
    crash can repeat per process); it claims up to one more batch ahead."""
    record_wait_seconds: float = 0.0
    """How long the recorder gathers outcomes before writing them in one transaction."""
    poll_seconds: float = 1.0
    """How long an idle sender waits before looking again."""
    max_attempts: int = 5
    """Network errors or 5xx answers after which a row is ``failed``."""
    backoff_initial_seconds: float = 2.0
    backoff_max_seconds: float = 300.0
    claim_timeout_seconds: float = 300.0
    """A row ``sending`` for longer than this belongs to a dead sender and is claimed again."""

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failure (1, 2, …)."""
        return doubling_wait(attempts, self.backoff_initial_seconds, self.backoff_max_seconds)


def worker_name() -> str:
    """This process as ``claimed_by`` names it: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def enqueue(
    uow: UnitOfWork,
    deps: Deps,
    reply: Reply,
    *,
    key: str,
    lane: Lane,
    locale: str,
    now: datetime,
) -> int | None:
    """Renders `reply` now (in `locale`) and writes it to the outbox in `uow`, under `key`;
    returns the row's id, or None if a row with that key exists already (nothing is
    written). The caller commits."""
    message = render_reply(deps.renderer, reply, locale, reply.chat_id or 0)
    return await enqueue_rendered(uow, message, key=key, lane=lane, now=now)


async def enqueue_rendered(
    uow: UnitOfWork,
    message: Outgoing,
    *,
    key: str,
    lane: Lane,
    now: datetime,
    claimed_by: str | None = None,
) -> int | None:
    """Writes a rendered message (a new one, an edit or a copy) to the outbox in `uow`, under
    `key`; returns the row's id, or None if a row with that key exists already. With
    `claimed_by` the row is written already claimed by that worker (``sending``), which then
    sends it at once; should the worker die first, the row is claimed again like any other
    left ``sending``. The caller commits."""
    item = OutboxMessage(key=key, lane=lane, message=message, created_at=now, not_before=now)
    if claimed_by is not None:
        item.state, item.claimed_by, item.claimed_at = OutboxState.SENDING, claimed_by, now
    added = await uow.outbox.enqueue(item)
    if added is None:
        log.debug("outbox already holds %s", key)
    return added


class OutboxSender:
    """Drains the outbox in one process; run it with :meth:`run`, stop it with :meth:`stop`.

    `worker` names this process in ``claimed_by`` (host and pid), for ``rapport outbox
    status`` and post-mortems; it carries no personal data."""

    def __init__(self, deps: Deps, delivery: Delivery, policy: OutboxPolicy, worker: str) -> None:
        self._deps = deps
        self._delivery = delivery
        self._policy = policy
        self._worker = worker
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._recorder = _Recorder(deps, delivery, policy)
        self._window = SendWindow(policy.batch_size)

    def wake(self) -> None:
        """Looks at the outbox now rather than after ``poll_seconds``."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self, after: asyncio.Event | None = None) -> None:
        """Drains until stopped. At most ``batch_size`` rows are in flight — sent or being
        sent and not yet recorded (:class:`SendWindow`), the most a crash can repeat — and up
        to one more batch is claimed ahead and waits for the window, so the claim's
        transaction and the recording of earlier outcomes never leave the window idle: as
        soon as a row's outcome is recorded the next claimed row goes. A claim is made
        whenever half a batch of room is free (one transaction per claim). A failed round is
        logged and the next one runs. With `after`, begins once it is set (the dispatcher has
        resumed the answers an earlier run left, which must go before anything newer to the
        same chats). At a stop it lets the rows in flight finish (the runner bounds the
        wait); claimed rows not yet begun are not sent and stay claimed for
        :func:`release_own`. Every third of ``claim_timeout_seconds`` it claims the rows it
        holds again (:meth:`_heartbeat`), so a row that waits long (a long 429 pause, a
        group's 20 a minute) is never taken for a dead sender's and sent twice."""
        if after is not None:
            waiting = asyncio.create_task(after.wait())
            stopping = asyncio.create_task(self._stop.wait())
            await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            stopping.cancel()
        in_flight: dict[asyncio.Task[OutboxState], int] = {}
        beat = self._deps.clock.now()
        try:
            batch = self._policy.batch_size
            while not self._stop.is_set():
                beat = await self._heartbeat(in_flight, beat)
                room = 2 * batch - len(in_flight)  # the window, and one batch claimed ahead
                claimed: list[OutboxMessage] = []
                if room >= max(1, batch // 2) or not in_flight:
                    try:
                        claimed = await self.claim_due(min(room, batch))
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("outbox: claiming failed; trying again")
                for row in claimed:
                    task = asyncio.create_task(self._send(row), name=f"outbox-{row.id}")
                    in_flight[task] = row.id or 0
                    task.add_done_callback(_settled(in_flight))
                if not claimed and not self._stop.is_set():
                    await self._idle(in_flight)
        finally:
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    async def _heartbeat(
        self, in_flight: dict[asyncio.Task[OutboxState], int], last: datetime
    ) -> datetime:
        """Claims the held rows again when a third of the claim timeout has passed since
        `last`; returns when it last did. A failure is logged and tried at the next round."""
        now = self._deps.clock.now()
        if not in_flight or now - last < timedelta(seconds=self._policy.claim_timeout_seconds / 3):
            return last
        try:
            async with self._deps.uow() as uow:
                await uow.outbox.refresh_claims(list(in_flight.values()), self._worker, now)
                await uow.commit()
        except Exception:
            log.exception("outbox: renewing the claims failed; trying again")
            return last
        return now

    async def _idle(self, in_flight: dict[asyncio.Task[OutboxState], int]) -> None:
        """Waits for a wake-up, a send to finish (room to claim more) or ``poll_seconds``."""
        self._wake.clear()
        woken = asyncio.create_task(self._wake.wait())
        try:
            await asyncio.wait(
                {woken, *in_flight},
                timeout=self._policy.poll_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            woken.cancel()

    async def drain_once(self) -> int:
        """Claims up to ``batch_size`` due rows and sends them; returns how many it claimed."""
        claimed = await self.claim_due(self._policy.batch_size)
        if claimed:
            # Delivery paces them: per chat in order, bot-wide fairly among chats.
            await asyncio.gather(*(self._send(row) for row in claimed), return_exceptions=True)
        return len(claimed)

    async def claim_due(self, limit: int) -> list[OutboxMessage]:
        """Claims up to `limit` due rows for this worker in one transaction of two statements
        (which rows are due; one conditional update of them all), service lane first, then
        oldest first; a row another sender claimed meanwhile is left to it."""
        now = self._deps.clock.now()
        stale = now - timedelta(seconds=self._policy.claim_timeout_seconds)
        async with self._deps.uow() as uow:
            due = await uow.outbox.due(now, stale, limit)
            ids = [row.id for row in due if row.id is not None]
            won = set(await uow.outbox.claim_many(ids, self._worker, now, stale))
            await uow.commit()
        claimed = [row for row in due if row.id in won]
        for row in claimed:
            if row.state is OutboxState.SENDING:
                log.warning(
                    "outbox row %s was left sending by %s; sending it again",
                    row.id,
                    row.claimed_by,
                )
        return claimed

    async def _send(self, row: OutboxMessage) -> OutboxState:
        """Sends a claimed row once the window has room (service rows first) and records
        the outcome before giving its place up. A row still waiting at a stop is not sent:
        it stays ``sending``, claimed by this worker, for :func:`release_own`."""
        async with self._window.place(urgent=row.lane is Lane.SERVICE):
            if self._stop.is_set():
                return OutboxState.SENDING
            return await self._recorder.record(row, await _attempt(self._delivery, row))


class SendWindow:
    """At most `size` places, given first come first served, service rows before the rest.

    A row holds a place from the moment it may be sent until its outcome is recorded, so
    `size` bounds the rows a crash can leave sent but unrecorded (and send again). Rows
    claimed ahead wait here for a place rather than in the database, so a claim's
    transaction never stops the sending.
    """

    def __init__(self, size: int) -> None:
        self._free = size
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    @contextlib.asynccontextmanager
    async def place(self, *, urgent: bool) -> AsyncIterator[None]:
        if self._free > 0 and not self._urgent and not self._others:
            self._free -= 1
        else:
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if urgent else self._others).append(turn)
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._give_back()  # the place was handed over as the wait was cancelled
                else:
                    with contextlib.suppress(ValueError):  # already passed over
                        (self._urgent if urgent else self._others).remove(turn)
                raise
        try:
            yield
        finally:
            self._give_back()

    def _give_back(self) -> None:
        """Hands the place to the next waiter (service first), or frees it."""
        for waiters in (self._urgent, self._others):
            while waiters:
                turn = waiters.popleft()
                if not turn.done():
                    turn.set_result(None)
                    return
        self._free += 1


def _settled(
    in_flight: dict[asyncio.Task[OutboxState], int],
) -> Callable[[asyncio.Task[OutboxState]], None]:
    """A done-callback that forgets a finished send and logs how it failed, if it did."""

    def done(task: asyncio.Task[OutboxState]) -> None:
        in_flight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox: %s failed: %r", task.get_name(), task.exception())

    return done


async def send_now(deps: Deps, delivery: Delivery, ids: Sequence[int], worker: str) -> int:
    """Sends these rows now, if still pending and due (a job's own messages, right after its
    commit), so they need not wait for the next round of a sender; a row another sender took
    first is left to it. They are claimed together, in one transaction (one conditional
    update, :meth:`~bot.core.ports.OutboxRepository.claim_many`). One try each: a network
    error or 5xx leaves the row pending, due at once, for the senders, whose policy then
    applies. Returns how many were sent."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        rows = [await uow.outbox.get(row_id) for row_id in dict.fromkeys(ids)]
        due = [
            row
            for row in rows
            if row is not None
            and row.id is not None
            and row.state is OutboxState.PENDING
            and row.not_before <= now
        ]
        won = set(
            await uow.outbox.claim_many([row.id for row in due if row.id], worker, now, None)
        )
        await uow.commit()
    claimed = [row for row in due if row.id in won]
    outcomes = await asyncio.gather(*(_send(deps, delivery, row, None) for row in claimed))
    return sum(1 for state, _sent in outcomes if state is OutboxState.SENT)


async def _send(
    deps: Deps,
    delivery: Delivery,
    row: OutboxMessage,
    policy: OutboxPolicy | None,
    tries: int = 1,
    alert: bool = False,
) -> tuple[OutboxState, Sent | None]:
    """Sends one claimed row (`tries` tries at real failures) and records the outcome;
    returns its new state and, if sent, what Telegram answered. Without a `policy`
    (:func:`send_now`) a transient failure leaves the row due at once and uncounted."""
    result = await _attempt(delivery, row, tries, alert)
    [state] = await _record_all(deps, delivery, [(row, result)], policy)
    return state, result.sent


async def _attempt(
    delivery: Delivery, row: OutboxMessage, tries: int = 1, alert: bool = False
) -> SendResult:
    """Sends one claimed row through Delivery (service rows go first at the bot-wide turn);
    whatever goes wrong becomes a result, so the row is always recorded."""
    try:
        return await delivery.send_once(
            row.message, tries, urgent=row.lane is Lane.SERVICE, alert=alert
        )
    except Exception as exc:  # a bug or an outage must not strand the row in `sending`
        log.exception("outbox row %s: sending raised", row.id)
        return SendResult(SendOutcome.RETRY, reason=type(exc).__name__)


class _Recorder:
    """Records the sender's outcomes a batch per transaction: while one batch is being
    written, the outcomes that come in wait and go together in the next. At Telegram's
    paid rate (1000/s) one transaction per message would be the bottleneck, not Telegram.
    A crash between a send and its record repeats that row once, as any crash mid-send
    does; the batch is at most the rows in flight (``batch_size``)."""

    def __init__(self, deps: Deps, delivery: Delivery, policy: OutboxPolicy) -> None:
        self._deps = deps
        self._delivery = delivery
        self._policy = policy
        self._queue: list[tuple[Outcome, asyncio.Future[OutboxState]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, row: OutboxMessage, result: SendResult) -> OutboxState:
        done: asyncio.Future[OutboxState] = asyncio.get_running_loop().create_future()
        self._queue.append(((row, result), done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="outbox-recorder")
        return await asyncio.shield(done)

    async def _write(self) -> None:
        while self._queue:
            # Sends finishing meanwhile join this batch: fewer, larger transactions.
            if self._policy.record_wait_seconds > 0:
                await self._deps.clock.sleep(self._policy.record_wait_seconds)
            else:
                await asyncio.sleep(0)
            size = self._policy.batch_size
            batch, self._queue = self._queue[:size], self._queue[size:]
            try:
                states = await _record_all(
                    self._deps, self._delivery, [o for o, _ in batch], self._policy
                )
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for (_, done), state in zip(batch, states, strict=True):
                    if not done.done():
                        done.set_result(state)


async def _apply(
    uow: UnitOfWork,
    row: OutboxMessage,
    policy: OutboxPolicy | None,
    result: SendResult,
    now: datetime,
) -> OutboxState:
    """Writes what became of one send that did not arrive into `uow` (the caller commits;
    sent rows are written a batch at a time by :func:`_record_all`); the row's new state."""
    assert row.id is not None
    assert result.outcome is not SendOutcome.SENT
    if result.outcome is SendOutcome.SKIPPED:
        await uow.outbox.finish(row.id, OutboxState.SKIPPED, result.reason, row.attempts)
        return OutboxState.SKIPPED
    attempts = row.attempts + 1
    if result.outcome is SendOutcome.FAILED:
        await uow.outbox.finish(row.id, OutboxState.FAILED, result.reason, attempts)
        return OutboxState.FAILED
    if _doubted_twice(row, result):
        reason = f"{result.reason} (again; it may have arrived, so it is not repeated)"
        await uow.outbox.finish(row.id, OutboxState.FAILED, reason, attempts)
        log.error("outbox row %s: outcome unknown twice; failed, not repeated", row.id)
        return OutboxState.FAILED
    if policy is None:
        await uow.outbox.release(row.id, result.reason, row.attempts, now)
        return OutboxState.PENDING
    if attempts >= policy.max_attempts:
        await uow.outbox.finish(row.id, OutboxState.FAILED, result.reason, attempts)
        log.error("outbox row %s failed after %d attempts", row.id, attempts)
        return OutboxState.FAILED
    later = now + timedelta(seconds=policy.backoff(attempts))
    await uow.outbox.release(row.id, result.reason, attempts, later)
    return OutboxState.PENDING


Outcome = tuple[OutboxMessage, SendResult]


async def _write_outcomes(
    uow: UnitOfWork,
    delivery: Delivery,
    outcomes: Sequence[Outcome],
    policy: OutboxPolicy | None,
    now: datetime,
) -> list[OutboxState]:
    """Writes these outcomes into `uow` (the caller commits); the rows' new states. The sent
    ones, the bulk of any batch, take three statements however many they are: one executemany
    ``UPDATE`` marks them sent, one query finds the customers of their chats and one
    executemany ``INSERT`` logs them. The others are written one by one (:func:`_apply`)."""
    states: list[OutboxState] = []
    sent: list[tuple[OutboxMessage, Sent]] = []
    for row, result in outcomes:
        if result.outcome is SendOutcome.SENT:
            assert row.id is not None and result.sent is not None
            sent.append((row, result.sent))
            states.append(OutboxState.SENT)
        else:
            states.append(await _apply(uow, row, policy, result, now))
    if sent:
        await uow.outbox.mark_sent_many(
            [(row.id, message.message_id) for row, message in sent if row.id is not None], now
        )
        await delivery.log_sent(uow, [(row.message, message) for row, message in sent])
    return states


async def _record_all(
    deps: Deps, delivery: Delivery, outcomes: Sequence[Outcome], policy: OutboxPolicy | None
) -> list[OutboxState]:
    """Records what became of these sends in one transaction, trying again while the
    database is busy (``handling`` policy): a row Telegram took must not stay ``sending``,
    or it would be sent again once its claim times out. Returns the rows' new states."""

    async def record() -> list[OutboxState]:
        async with deps.uow() as uow:
            states = await _write_outcomes(uow, delivery, outcomes, policy, deps.clock.now())
            await uow.commit()
        return states

    what = f"outbox: recording {len(outcomes)} outcomes"
    states = await retrying(record, deps.policies.handling, deps.clock.sleep, what)
    for (row, _result), state in zip(outcomes, states, strict=True):
        if state is not OutboxState.SENT:
            log.info("outbox row %s (%s): %s", row.id, row.message.template_key, state)
    return states


def _doubted_twice(row: OutboxMessage, result: SendResult) -> bool:
    """A send whose outcome is unknown is tried once more; unknown again, the row fails
    (``rapport outbox retry`` can still send it), so one row is delivered at most twice."""
    doubt = result.outcome is SendOutcome.RETRY and result.reason.startswith(UNCERTAIN)
    return doubt and (row.last_error or "").startswith(UNCERTAIN)


@dataclass(frozen=True, slots=True)
class Delivered:
    """What became of a handler's messages (:func:`send_results`)."""

    sent: list[Sent]
    missed: list[Reply | Relay]
    """Messages that will not arrive: the chat blocked the bot or is gone, or Telegram
    refused the request."""
    later: list[Reply | Relay]
    """Messages left pending after transient failures; the outbox senders retry them."""


async def send_results(
    deps: Deps,
    delivery: Delivery,
    results: Sequence[Reply | Relay | CallbackAnswer],
    locale: str,
    chat_id: int,
    *,
    key: str,
    worker: str,
    policy: OutboxPolicy,
    handled: int | None = None,
) -> Delivered:
    """Delivers what a handler produced, through the outbox, so nothing it decided is lost.

    Button answers go first (cosmetic: a failure there is logged and never stops the rest).
    Then, in one transaction, every message is written to the outbox's service lane, under
    ``<key>:<n>``, already claimed by `worker`, and the inbound update `handled` is marked
    handled: from that commit on, the update is never handled again, and its messages are
    durable. Each is then sent at once, in order (``max_send_attempts`` tries at real
    failures), and marked sent (and logged) in a transaction of its own. A crash after the
    commit leaves the unsent rows ``sending``; the next start of this process releases them
    (:func:`recover`), and other processes claim them after ``claim_timeout_seconds``: they
    go out then, at most once more for the few claimed rows whose send had left but whose
    ``sent`` was not committed. A transient failure leaves the row pending for the senders,
    with the outbox's back-off. Messages are rendered in `locale`, to `chat_id`, unless a
    reply names another chat or locale."""
    for answer in results:
        if isinstance(answer, CallbackAnswer):
            await delivery.answer_callback(answer, answer.locale or locale)
    items = [item for item in results if not isinstance(item, CallbackAnswer)]
    now = deps.clock.now()
    rows: list[tuple[Reply | Relay, OutboxMessage]] = []
    async with deps.uow() as uow:
        for n, item in enumerate(items):
            message = delivery.render(item, locale, chat_id)
            row_key = f"{key}:{n}"
            row_id = await enqueue_rendered(
                uow, message, key=row_key, lane=Lane.SERVICE, now=now, claimed_by=worker
            )
            if row_id is not None:
                row = OutboxMessage(
                    key=row_key,
                    lane=Lane.SERVICE,
                    message=message,
                    created_at=now,
                    not_before=now,
                    state=OutboxState.SENDING,
                    claimed_by=worker,
                    claimed_at=now,
                    id=row_id,
                )
                rows.append((item, row))
        if handled is not None:
            await uow.messages.mark_handled(handled, now)
        await uow.commit()
    done = Delivered([], [], [])
    tries = deps.policies.delivery.max_send_attempts
    for item, row in rows:
        state, sent = await _send(deps, delivery, row, policy, tries, alert=True)
        if sent is not None:
            done.sent.append(sent)
        elif state is OutboxState.PENDING:
            done.later.append(item)
        else:
            done.missed.append(item)
    return done


def claimant_is_gone(worker: str, me: str) -> bool:
    """Whether `worker` (``host:pid``, as :func:`worker_name` makes it) certainly runs no
    more: it ran on this host and its pid is not alive, or it is `me` itself — which, before
    this process has claimed anything, can only be an earlier life of this process (a
    restarted container keeps its host name and pid 1). Anything else (another host, a live
    pid) is left to the claim timeout."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if worker == me:
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, but another user's: not ours to judge
        return False
    return False


async def recover(deps: Deps, worker: str) -> int:
    """At start-up, before this process claims anything: rows that a dead sender on this
    host left ``sending`` go back to pending, due at once, so a restart resumes at once
    instead of after ``claim_timeout_seconds``. Returns how many rows were released."""
    released = 0
    async with deps.uow() as uow:
        for claimant in await uow.outbox.claimants():
            if claimant_is_gone(claimant, worker):
                n = await uow.outbox.release_claims(claimant, "sender died", deps.clock.now())
                log.warning("outbox: %d rows left sending by %s are due again", n, claimant)
                released += n
        await uow.commit()
    return released


async def release_own(deps: Deps, worker: str) -> int:
    """At a clean stop: rows this process claimed and did not send go back to pending."""
    async with deps.uow() as uow:
        n = await uow.outbox.release_claims(worker, "sender stopped", deps.clock.now())
        await uow.commit()
    if n:
        log.info("outbox: %d unsent rows left for the next sender", n)
    return n
