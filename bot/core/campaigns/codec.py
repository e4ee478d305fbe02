"""A :class:`~bot.core.campaigns.model.CampaignSpec` as plain JSON-ready data and back: how
the storage keeps it (one text column) and what ``rapport campaign show --json`` prints.
:func:`spec_from_data` trusts data this module wrote; files from people go through
:mod:`bot.app.campaign_file`, which names the line of each mistake."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.campaigns.model import (
    CampaignAudience,
    CampaignSpec,
    Combine,
    LinkButton,
    LocaleMessage,
    Schedule,
    ScheduleKind,
)
from bot.core.engagement.playbook import Audience, CouponKind, CouponSpec
from bot.core.tiers import Lifecycle, Segment, Tier


def _audience_data(a: Audience) -> dict[str, Any]:
    data: dict[str, Any] = {
        "tiers": sorted(t.value for t in a.tiers),
        "stages": sorted(s.value for s in a.stages),
        "segments": sorted(s.value for s in a.segments),
        "tags": sorted(a.tags),
        "languages": sorted(a.languages),
    }
    if a.has_advisor is not None:
        data["has_advisor"] = a.has_advisor
    return {k: v for k, v in data.items() if v != []}


def _audience(data: dict[str, Any]) -> Audience:
    return Audience(
        tiers=frozenset(Tier(t) for t in data.get("tiers", ())),
        stages=frozenset(Lifecycle(s) for s in data.get("stages", ())),
        segments=frozenset(Segment(s) for s in data.get("segments", ())),
        tags=frozenset(data.get("tags", ())),
        languages=frozenset(data.get("languages", ())),
        has_advisor=data.get("has_advisor"),
    )


def spec_data(spec: CampaignSpec) -> dict[str, Any]:
    """The spec as JSON-ready data (times as ISO 8601 UTC)."""
    schedule = spec.schedule
    coupon = spec.coupon
    return {
        "name": spec.name,
        "audience": {
            "combine": spec.audience.combine.value,
            "consent": spec.audience.consent,
            "clauses": [_audience_data(c) for c in spec.audience.clauses],
        },
        "messages": {
            locale: {
                "text": m.text,
                "template": m.template,
                "buttons": [{"label": b.label, "url": b.url} for b in m.buttons],
            }
            for locale, m in spec.messages.items()
        },
        "coupon": None
        if coupon is None
        else {
            "kind": coupon.kind.value,
            "value": coupon.value,
            "min_spend_cents": coupon.min_spend_cents,
            "valid_days": coupon.valid_days,
        },
        "holdout": spec.holdout,
        "schedule": {
            "kind": schedule.kind.value,
            "at": schedule.at.isoformat() if schedule.at else None,
            "cron": schedule.cron,
            "timezone": schedule.timezone,
        },
    }


def spec_from_data(data: dict[str, Any]) -> CampaignSpec:
    """The spec :func:`spec_data` wrote."""
    audience = data["audience"]
    schedule = data["schedule"]
    coupon = data.get("coupon")
    return CampaignSpec(
        name=data["name"],
        audience=CampaignAudience(
            clauses=tuple(_audience(c) for c in audience["clauses"]),
            combine=Combine(audience["combine"]),
            consent=audience.get("consent"),
        ),
        messages={
            locale: LocaleMessage(
                text=m.get("text"),
                template=m.get("template"),
                buttons=tuple(LinkButton(b["label"], b["url"]) for b in m.get("buttons", ())),
            )
            for locale, m in data["messages"].items()
        },
        coupon=None
        if coupon is None
        else CouponSpec(
            CouponKind(coupon["kind"]),
            coupon.get("value"),
            coupon.get("min_spend_cents", 0),
            coupon.get("valid_days", 30),
        ),
        holdout=float(data.get("holdout", 0.0)),
        schedule=Schedule(
            kind=ScheduleKind(schedule["kind"]),
            at=datetime.fromisoformat(schedule["at"]) if schedule.get("at") else None,
            cron=schedule.get("cron"),
            timezone=schedule.get("timezone") or "UTC",
        ),
    )
