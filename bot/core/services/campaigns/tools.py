"""What every campaign use case takes (:class:`CampaignTools`) and the lookups they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.campaigns.model import (
    Campaign,
    CampaignError,
)
from bot.core.deps import Deps
from bot.core.engagement.facts import CustomerFacts
from bot.core.locale import resolve_locale
from bot.core.policies import Policies
from bot.core.ports import Clock, Renderer, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class CampaignTools:
    """What the campaign use cases need: a subset of :class:`~bot.core.deps.Deps`, so the
    command line can build it without a messenger."""

    uow: UnitOfWorkFactory
    renderer: Renderer
    policies: Policies
    clock: Clock

    @classmethod
    def of(cls, deps: Deps) -> CampaignTools:
        return cls(deps.uow, deps.renderer, deps.policies, deps.clock)


async def get_campaign(work: UnitOfWork, campaign_id: int, for_update: bool = False) -> Campaign:
    """The campaign (its row locked with `for_update`), or CampaignError naming the id that
    does not exist."""
    campaign = await work.campaigns.get(campaign_id, for_update=for_update)
    if campaign is None:
        raise CampaignError(f"there is no campaign {campaign_id}")
    return campaign


def locale_of(tools: CampaignTools, facts: CustomerFacts) -> str:
    """The locale a customer is written to in (their language, else the default)."""
    locale = tools.policies.locale
    return resolve_locale(
        facts.language, facts.language_code, locale.default_locale, tools.renderer.locales
    )


async def each_customer(tools: CampaignTools, page: int) -> Any:
    """Every customer's engagement facts, by id, read `page` at a time (a transaction
    each)."""
    after = 0
    while True:
        async with tools.uow() as work:
            chunk = await work.engagement.customer_facts(after_id=after, limit=page)
        if not chunk:
            return
        for facts in chunk:
            yield facts
        after = chunk[-1].customer_id
