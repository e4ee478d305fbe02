"""A campaign's report: counts and uplift (:mod:`bot.core.campaigns.uplift`)."""

from __future__ import annotations

from datetime import timedelta

from bot.core.campaigns.uplift import CampaignReport, build_report
from bot.core.services.campaigns.tools import CampaignTools, get_campaign


async def report(tools: CampaignTools, campaign_id: int, run: int | None = None) -> CampaignReport:
    """The campaign's report (every run, or one): see :mod:`bot.core.campaigns.uplift`.
    Orders count from the moment each message went (or would have gone) out for
    ``report_days`` days."""
    policy = tools.policies.campaigns
    async with tools.uow() as work:
        await get_campaign(work, campaign_id)
        outcomes = await work.campaigns.outcomes(campaign_id, run)
        moments = [o.at for o in outcomes if o.at is not None]
        orders = []
        if moments:
            until = max(moments) + timedelta(days=policy.report_days)
            orders = await work.campaigns.orders_of(
                {o.customer_id for o in outcomes}, min(moments), until
            )
        issued, redeemed = await work.campaigns.coupons(campaign_id)
    return build_report(
        outcomes,
        orders,
        window_days=policy.report_days,
        confidence=policy.confidence,
        coupons_issued=issued,
        coupons_redeemed=redeemed,
    )
