"""Engagement use cases: evaluate the playbook over every customer in the database.

:func:`preview` reads the customers' facts page by page through the unit of work's
:class:`~bot.core.ports.EngagementFactsReader` and evaluates each page
(:func:`bot.core.engagement.evaluate.evaluate`). It writes nothing: ``rapport playbook
preview`` shows its result, and the scheduled job (a later step) enqueues it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from bot.core.engagement.evaluate import Context, RuleResult, evaluate
from bot.core.engagement.playbook import Playbook
from bot.core.policies import EngagementPolicy
from bot.core.ports import UnitOfWorkFactory


async def preview(
    uow: UnitOfWorkFactory,
    playbook: Playbook,
    now: datetime,
    policy: EngagementPolicy,
    context: Context,
    rule_ids: Collection[str] | None = None,
    page: int = 500,
) -> list[RuleResult]:
    """Every (chosen) rule's plan over all customers at `now`; nothing is written."""
    wanted = [r for r in playbook.rules if rule_ids is None or r.id in rule_ids]
    merged = {r.id: RuleResult(r.id, r.is_marketing) for r in wanted}
    after = 0
    while True:
        async with uow() as work:
            facts = await work.engagement.customer_facts(after_id=after, limit=page)
        if not facts:
            break
        after = facts[-1].customer_id
        for result in evaluate(playbook, facts, now, policy, context, rule_ids):
            total = merged[result.rule_id]
            total.planned.extend(result.planned)
            total.skipped.extend(result.skipped)
            total.not_due += result.not_due
    return [merged[r.id] for r in wanted]
