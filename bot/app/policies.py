"""Builds the core's frozen :class:`~bot.core.policies.Policies` from the settings, once.

This is the only place that translates configuration into rules: the core never sees
:class:`~bot.app.settings.Settings`, and secrets stop here (the deep-link signing key is
derived from the encryption key and handed on as bytes).
"""

from __future__ import annotations

import functools
import math
from datetime import time, timedelta
from pathlib import Path

from bot.app.playbook_file import DEFAULT_PLAYBOOK, load_playbook, template_keys
from bot.app.settings import LOCALES, Settings
from bot.core.campaigns.model import MAX_HOLDOUT
from bot.core.engagement.playbook import Playbook
from bot.core.loyalty import LoyaltyPolicy, parse_levels
from bot.core.pacing import PacingLimits
from bot.core.policies import (
    CampaignPolicy,
    CampaignWizardPolicy,
    ComplaintPolicy,
    DeliveryPolicy,
    DeskMode,
    EngagementPolicy,
    HandlingPolicy,
    LinkingPolicy,
    Localisation,
    Policies,
    RatingPolicy,
    StaffChannels,
)
from bot.core.profile import ProfileField, ProfilePolicy
from bot.core.records import LINK_PURPOSE, decode_master_key, derive_key
from bot.core.sla import BusinessHours, Case, SlaPolicy, SlaTarget
from bot.core.surveys import SurveyPolicy
from bot.core.tiers import TierPolicy
from scripts_i18n import ROOT


def tier_policy(settings: Settings) -> TierPolicy:
    """The RFM window, tier shares and lifecycle days; ValueError when they contradict."""
    return TierPolicy(
        window_days=settings.rfm_window_days,
        high_share=settings.tier_high_share,
        base_share=settings.tier_base_share,
        new_days=settings.lifecycle_new_days,
        active_days=settings.lifecycle_active_days,
        dormant_days=settings.lifecycle_dormant_days,
    )


def sla_policy(settings: Settings) -> SlaPolicy:
    """The deployment's SLA policy (SPEC §4 defaults live in :class:`Settings`)."""
    s = settings

    def target(first: int, resolution: int) -> SlaTarget:
        return SlaTarget(timedelta(minutes=first), timedelta(minutes=resolution))

    hours = (
        BusinessHours.parse(s.business_hours, s.business_timezone) if s.business_hours else None
    )
    return SlaPolicy(
        targets={
            Case.ENQUIRY: target(s.enquiry_first_response_minutes, s.enquiry_resolution_minutes),
            Case.GENERAL: target(s.general_first_response_minutes, s.general_resolution_minutes),
            Case.QUALITY: target(s.quality_first_response_minutes, s.quality_resolution_minutes),
            Case.MAJOR: target(s.major_first_response_minutes, s.major_resolution_minutes),
        },
        high_tier_first_response_cap=timedelta(minutes=s.high_tier_first_response_minutes),
        warn_fraction=s.sla_warn_fraction,
        hours=hours,
    )


def link_key(settings: Settings) -> bytes | None:
    """The key that signs deep links, derived from the encryption key; None without one."""
    if settings.encryption_key is None:
        return None
    master = decode_master_key(settings.encryption_key.get_secret_value())
    return derive_key(master, LINK_PURPOSE)


def bot_wide_rate(settings: Settings) -> float:
    """Messages per second the bot paces itself to across all chats: the paid rate when
    paid broadcasts are on (the messengers then send with ``allow_paid_broadcast``)."""
    if settings.paid_broadcast:
        return settings.paid_messages_per_second
    return settings.global_messages_per_second


def telegram_connections(settings: Settings) -> int:
    """Connections the HTTP client keeps open: enough for the bot-wide rate when each send
    holds one for ``telegram_connection_seconds`` (a round trip with room for a slow answer),
    and never fewer than ``telegram_connections_min``."""
    wanted = math.ceil(bot_wide_rate(settings) * settings.telegram_connection_seconds)
    return max(settings.telegram_connections_min, wanted)


def clock_time(text: str) -> time:
    """``"21:00"`` → ``time(21, 0)`` (the setting's pattern has checked the form)."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def read_playbook(settings: Settings) -> Playbook:
    """The deployment's playbook (``RAPPORT_PLAYBOOK_FILE`` or the shipped one), checked
    against the templates of every locale; raises :class:`PlaybookError` naming each
    problem with its line. Reading it takes a few hundred milliseconds (every template file
    is parsed), so a file is read again only when it or a template file changed."""
    path = Path(settings.playbook_file) if settings.playbook_file else DEFAULT_PLAYBOOK
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = -1  # the loader reports the unreadable file with its name
    templates = tuple(p.stat().st_mtime_ns for p in sorted(ROOT.glob("*/messages/*.yaml")))
    return _read_playbook(str(path), stamp, templates)


@functools.lru_cache(maxsize=8)
def _read_playbook(path: str, stamp: int, templates: tuple[int, ...]) -> Playbook:
    """The playbook is frozen, so one read serves every caller until a file changes."""
    return load_playbook(Path(path), template_keys(ROOT, LOCALES), LOCALES)


def engagement_policy(settings: Settings, playbook: Playbook | None = None) -> EngagementPolicy:
    """The guards' numbers and the playbook (read with :func:`read_playbook` unless given)."""
    s = settings
    tags = frozenset(t.strip() for t in s.price_sensitive_tags.split(",") if t.strip())
    return EngagementPolicy(
        quiet_start=clock_time(s.quiet_hours_start),
        quiet_end=clock_time(s.quiet_hours_end),
        marketing_cap=s.marketing_cap,
        cap_days=s.marketing_cap_days,
        birthday_grace_days=s.birthday_grace_days,
        news_fresh_days=s.news_fresh_days,
        news_max_items=s.news_max_items,
        task_orders_shown=s.task_orders_shown,
        unhappy_complaint_days=s.unhappy_complaint_days,
        unhappy_rating_at_most=s.unhappy_rating_at_most,
        price_sensitive_coupon_share=s.price_sensitive_coupon_share,
        price_sensitive_tags=tags,
        active_days=s.lifecycle_active_days,
        currency=s.shop_currency,
        coupon_code_length=s.coupon_code_length,
        playbook=playbook if playbook is not None else read_playbook(s),
    )


def campaign_policy(settings: Settings) -> CampaignPolicy:
    """Campaign delivery and report numbers (SPEC §10)."""
    s = settings
    return CampaignPolicy(
        batch_size=s.campaign_batch_size,
        queue_ahead=s.campaign_queue_ahead,
        report_days=s.campaign_report_days,
        confidence=s.campaign_confidence,
    )


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in text.split(","))


def campaign_wizard_policy(settings: Settings) -> CampaignWizardPolicy:
    """The ``/campaign`` wizard's preset buttons and ``/campaigns``' length."""
    s = settings
    holdouts = _numbers(s.campaign_wizard_holdout_presets)
    if any(h > MAX_HOLDOUT * 100 for h in holdouts):
        raise ValueError(
            f"RAPPORT_CAMPAIGN_WIZARD_HOLDOUT_PRESETS: at most {MAX_HOLDOUT:.0%} each"
        )
    return CampaignWizardPolicy(
        percent_presets=_numbers(s.campaign_wizard_percent_presets),
        fixed_presets_cents=_numbers(s.campaign_wizard_fixed_presets_cents),
        holdout_presets=holdouts,
        coupon_valid_days=s.campaign_wizard_coupon_valid_days,
        list_limit=s.campaign_list_limit,
    )


def loyalty_policy(settings: Settings) -> LoyaltyPolicy:
    """Points, levels and the points-for-a-coupon rate (SPEC §9)."""
    s = settings
    return LoyaltyPolicy(
        points_per_unit=s.loyalty_points_per_unit,
        window_days=s.loyalty_window_days,
        levels=parse_levels(s.loyalty_levels),
        redeem_points=s.loyalty_redeem_points,
        coupon_cents=s.loyalty_coupon_cents,
        coupon_valid_days=s.loyalty_coupon_valid_days,
    )


def profile_policy(settings: Settings) -> ProfilePolicy:
    """What a complete profile has and how its questions are offered (SPEC §2)."""
    s = settings
    fields = tuple(dict.fromkeys(ProfileField(f.strip()) for f in s.profile_fields.split(",")))
    zones = tuple(z.strip() for z in s.profile_timezones.split(",") if z.strip())
    return ProfilePolicy(
        fields=fields,
        language_from_telegram=s.profile_language_from_telegram,
        zones=zones,
        first_order_hours=s.profile_first_order_hours,
        target_percent=s.profile_target_percent,
    )


def policies(settings: Settings) -> Policies:
    s = settings
    return Policies(
        locale=Localisation(default_locale=s.default_locale, default_timezone=s.default_timezone),
        staff=StaffChannels(
            group_chat_id=s.staff_chat_id,
            supervisor_chat_id=s.supervisor_chat_id,
            manager_chat_id=s.manager_chat_id,
            topics=s.staff_topics,
            desk_mode=DeskMode(s.desk_mode),
            sign_replies=s.desk_sign_replies,
            locale=s.staff_locale,
        ),
        sla=sla_policy(s),
        ratings=RatingPolicy(
            reopen_at_most=s.rating_reopen_at_most,
            window_days=s.rating_window_days,
            comment_max_chars=s.rating_comment_max_chars,
            revisit_after_days=s.revisit_after_days,
        ),
        linking=LinkingPolicy(
            key=link_key(s),
            token_days=s.link_token_days,
            bot_username=s.bot_username,
            phone_country_code=s.phone_country_code,
        ),
        delivery=DeliveryPolicy(
            limits=PacingLimits(
                chat_per_second=s.chat_messages_per_second,
                chat_burst=s.chat_burst,
                global_per_second=bot_wide_rate(s),
                group_per_minute=s.group_messages_per_minute,
                margin_seconds=s.pacing_margin_seconds,
            ),
            max_send_attempts=s.max_send_attempts,
        ),
        complaints=ComplaintPolicy(repeat_contacts=s.triage_repeat_contacts),
        handling=HandlingPolicy(
            attempts=s.update_handle_attempts,
            retry_initial_seconds=s.accept_retry_initial_seconds,
            retry_max_seconds=s.accept_retry_max_seconds,
            order_wait_seconds=s.chat_order_wait_seconds,
        ),
        engagement=engagement_policy(s),
        loyalty=loyalty_policy(s),
        campaigns=campaign_policy(s),
        campaign_wizard=campaign_wizard_policy(s),
        surveys=SurveyPolicy(
            comment_minutes=s.nps_comment_minutes,
            answer_days=s.nps_answer_days,
            detractor_at_most=s.nps_detractor_at_most,
            comment_max_chars=s.rating_comment_max_chars,
        ),
        profile=profile_policy(s),
    )
