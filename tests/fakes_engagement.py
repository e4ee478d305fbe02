"""The in-memory engagement read model, over the fake store of :mod:`tests.fakes`.

Orders live only in SQL in production (the import writes them); tests that need them put
:class:`OrderFact` rows in ``MemoryStore.orders`` (customer id → orders)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.engagement.facts import CustomerFacts, SentEngagement
from bot.core.models import Reachability
from bot.core.profile import Answer, ProfileAsk, ProfileFacts, ProfileField, facts_of
from bot.core.staff_tasks import StaffTask, TaskChoice, TaskState
from bot.core.surveys import Survey
from bot.core.tickets import TicketKind
from bot.core.tiers import Lifecycle, Tier

if TYPE_CHECKING:
    from tests.fakes import MemoryStore


class MemoryEngagementFacts:
    def __init__(self, work: MemoryStore) -> None:
        self._work = work

    async def customer_facts(self, after_id: int = 0, limit: int = 500) -> list[CustomerFacts]:
        w = self._work
        ids = sorted(i for i in w.customers if i > after_id)[:limit]
        facts: list[CustomerFacts] = []
        for cid in ids:
            c = w.customers[cid]
            profile = w.profiles.get(cid)
            standing = w.standings.get(cid)
            tickets = [t for t in w.tickets.values() if t.customer_id == cid]
            changes = [h.as_of for h in w.tier_history if h.customer_id == cid]
            sent = tuple(
                SentEngagement(row.key, row.not_before)
                for row in w.outbox.values()
                if row.key.startswith(("engage:", "campaign:"))
                and row.message.about_customer_id == cid
            )
            facts.append(
                CustomerFacts(
                    customer_id=cid,
                    name=c.first_name or c.display_name,
                    chat_id=c.chat_id,
                    reachability=c.reachability,
                    language=c.language,
                    language_code=c.language_code,
                    timezone=c.timezone,
                    tier=standing.tier if standing else Tier.PROSPECT,
                    stage=standing.lifecycle if standing else Lifecycle.PROSPECT,
                    segment=standing.segment if standing else None,
                    tags=frozenset(profile.tags) if profile else frozenset(),
                    has_advisor=cid in w.advisors,
                    consent=bool(profile and profile.marketing_consent),
                    birthday=profile.birthday if profile else None,
                    orders=tuple(w.orders.get(cid, ())),
                    complaints=tuple(
                        t.created_at for t in tickets if t.kind is TicketKind.COMPLAINT
                    ),
                    ratings=tuple(
                        (r.rated_at, r.score) for r in w.ratings.values() if r.customer_id == cid
                    ),
                    resolved_tickets=tuple(
                        (t.id, t.resolved_at)
                        for t in tickets
                        if t.id is not None and t.resolved_at is not None
                    ),
                    tier_changed_on=max(changes) if changes else None,
                    sent=sent,
                )
            )
        return facts


class MemoryStaffTasks:
    """Staff tasks, unique per (kind, customer, period) as the SQL table keeps them."""

    def __init__(self, work: MemoryStore) -> None:
        self._work = work

    async def add(self, task: StaffTask) -> StaffTask | None:
        key = (task.kind, task.customer_id, task.period)
        if any((t.kind, t.customer_id, t.period) == key for t in self._work.tasks.values()):
            return None
        stored = replace(task, id=next(self._work.ids), reason=task.reason[:200])
        self._work.tasks[stored.id or 0] = stored
        return replace(stored)

    async def get(self, task_id: int) -> StaffTask | None:
        task = self._work.tasks.get(task_id)
        return replace(task) if task is not None else None

    async def decide(
        self, task_id: int, state: TaskState, choice: TaskChoice, by: int, at: datetime
    ) -> bool:
        task = self._work.tasks.get(task_id)
        if task is None or task.state is not TaskState.OPEN:
            return False
        self._work.tasks[task_id] = replace(
            task, state=state, choice=choice, acted_by=by, acted_at=at
        )
        return True

    async def listing(self, *, open_only: bool = False, limit: int = 500) -> list[StaffTask]:
        found = [
            replace(t)
            for t in self._work.tasks.values()
            if not open_only or t.state is TaskState.OPEN
        ]
        return sorted(found, key=lambda t: (t.opened_at, t.id or 0), reverse=True)[:limit]


class MemorySurveys:
    """Surveys, unique per (customer, rule, period) as the SQL table keeps them."""

    def __init__(self, work: MemoryStore) -> None:
        self._work = work

    async def add(self, survey: Survey) -> Survey | None:
        key = (survey.customer_id, survey.rule_id, survey.period)
        if any((s.customer_id, s.rule_id, s.period) == key for s in self._work.surveys.values()):
            return None
        stored = replace(survey, id=next(self._work.ids), score=None, answered_at=None)
        stored.comment = None
        self._work.surveys[stored.id or 0] = stored
        return replace(stored)

    async def get(self, survey_id: int) -> Survey | None:
        survey = self._work.surveys.get(survey_id)
        return replace(survey) if survey is not None else None

    async def answer(self, survey_id: int, score: int, at: datetime) -> None:
        survey = self._work.surveys.get(survey_id)
        if survey is not None:
            self._work.surveys[survey_id] = replace(survey, score=score, answered_at=at)

    async def set_comment(self, survey_id: int, comment: str) -> bool:
        survey = self._work.surveys.get(survey_id)
        if survey is None or survey.comment is not None:
            return False
        self._work.surveys[survey_id] = replace(survey, comment=comment)
        return True

    async def sent_between(self, start: datetime, end: datetime) -> list[Survey]:
        found = [replace(s) for s in self._work.surveys.values() if start <= s.sent_at < end]
        return sorted(found, key=lambda s: (s.sent_at, s.id or 0))


class MemoryProfile:
    """Profile asks, unique per (customer, field) as the SQL table keeps them; the report's
    read over the fake customers and standings."""

    def __init__(self, work: MemoryStore) -> None:
        self._work = work

    async def asked(self, customer_id: int) -> dict[ProfileField, ProfileAsk]:
        return {f: a for (c, f), a in self._work.profile_asks.items() if c == customer_id}

    async def record_ask(self, customer_id: int, field: ProfileField, at: datetime) -> bool:
        if (customer_id, field) in self._work.profile_asks:
            return False
        self._work.profile_asks[(customer_id, field)] = ProfileAsk(customer_id, field, at)
        return True

    async def answer(
        self, customer_id: int, field: ProfileField, answer: Answer, at: datetime
    ) -> None:
        ask = self._work.profile_asks.get((customer_id, field))
        if ask is not None and ask.answer is None:
            self._work.profile_asks[(customer_id, field)] = replace(
                ask, answer=answer, answered_at=at
            )

    async def set_timezone(self, customer_id: int, zone: str, at: datetime) -> None:
        customer = self._work.customers.get(customer_id)
        if customer is not None:
            customer.timezone, customer.updated_at = zone, at

    async def first_orders_since(
        self, since: datetime, after_id: int = 0, limit: int = 500
    ) -> list[int]:
        w = self._work
        found = [
            cid
            for cid, orders in w.orders.items()
            if orders
            and cid > after_id
            and min(o.created_at for o in orders) >= since
            and cid in w.customers
            and w.customers[cid].chat_id is not None
            and w.customers[cid].reachability is Reachability.REACHABLE
        ]
        return sorted(found)[:limit]

    async def active_facts(self, stages: Collection[str]) -> list[ProfileFacts]:
        w = self._work
        return [
            replace(facts_of(w.customers[cid]), tier=info.tier.value)
            for cid, info in sorted(w.standings.items())
            if cid in w.customers and info.lifecycle.value in stages
        ]
