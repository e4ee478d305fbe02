"""What the ``/campaign`` wizard says at each step, and ``/campaigns``' list: replies with
buttons, built from the state (:mod:`bot.core.campaigns.wizard`) and the use cases' outcomes
(:mod:`bot.core.services.campaign_drafts`, :mod:`bot.core.services.campaign_board`).

Every sentence is a template under ``campaign_wizard.`` (scripts_i18n/<locale>/messages/
campaign_wizard.yaml), in the staff locale. Each step's message shows the audience size now;
the preview shows the campaign's message as each locale's sample customer gets it (its text
as rapport words it, its link buttons), then the step's own buttons.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.campaigns.model import Action, Campaign, ScheduleKind
from bot.core.campaigns.uplift import CampaignReport
from bot.core.campaigns.wizard import Step, WizardState, button
from bot.core.engagement.playbook import CouponKind
from bot.core.messages import Button, Reply
from bot.core.policies import CampaignWizardPolicy
from bot.core.services.campaign_board import REPORT, BoardLine
from bot.core.services.campaign_board import button as board_button
from bot.core.services.campaign_drafts import WizardOutcome
from bot.core.services.campaigns import AudienceSize, PreviewMessage
from bot.core.tiers import Lifecycle, Tier

STEP_NUMBER = {step: n for n, step in enumerate(Step, start=1)}


class Trusted(str):
    """Text rapport has already made safe HTML (a campaign message as the outbox would send
    it): the template engine shows it as it is instead of escaping it again."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


def _b(key: str, data: str, **params: object) -> Button:
    return Button(f"campaign_wizard.button.{key}", data, params)


def _back_cancel(step: Step) -> tuple[Button, ...]:
    cancel = _b("cancel", button(step, "cancel"))
    if step is Step.AUDIENCE:
        return (cancel,)
    return (_b("back", button(step, "back")), cancel)


def _audience_buttons(state: WizardState, locales: Sequence[str]) -> list[tuple[Button, ...]]:
    def toggle(kind: str, value: str, names: str, on: bool) -> Button:
        label_key = f"campaign_wizard.{names}.{value}"
        data = button(Step.AUDIENCE, "t", f"{kind}.{value}")
        return _b("toggle", data, label_key=label_key, on=on)

    tiers = tuple(toggle("tier", t.value, "tier", t.value in state.tiers) for t in Tier)
    stages = [toggle("stage", s.value, "stage", s.value in state.stages) for s in Lifecycle]
    langs = tuple(toggle("lang", loc, "language", loc in state.languages) for loc in locales)
    consent = _b("consent", button(Step.AUDIENCE, "t", "consent"), on=state.consent)
    return [
        tiers,
        tuple(stages[:3]),
        tuple(stages[3:]),
        langs,
        (consent,),
        (_b("next", button(Step.AUDIENCE, "next")),),
    ]


def _coupon_buttons(policy: CampaignWizardPolicy, currency: str) -> list[tuple[Button, ...]]:
    def coupon(kind: str, value: int | None) -> Button:
        arg = f"{kind}.{value}" if value is not None else kind
        data = button(Step.COUPON, "coupon", arg)
        return _b("coupon", data, kind=kind, value=value, currency=currency)

    percent = CouponKind.PERCENT.value
    fixed = CouponKind.FIXED.value
    return [
        (_b("no_coupon", button(Step.COUPON, "coupon", "none")),),
        tuple(coupon(percent, v) for v in policy.percent_presets),
        tuple(coupon(fixed, v) for v in policy.fixed_presets_cents),
        (coupon(CouponKind.FREE_SHIPPING.value, None),),
    ]


def step_reply(
    state: WizardState,
    size: AudienceSize | None,
    locales: Sequence[str],
    default_locale: str,
    policy: CampaignWizardPolicy,
    currency: str,
    campaign: Campaign | None = None,
) -> Reply:
    """The current step's question, with the audience size now and the step's buttons."""
    step = state.step
    params: dict[str, object] = {
        "number": STEP_NUMBER[step],
        "steps": len(STEP_NUMBER),
        "size": size.total if size else 0,
        "held": size.holdout if size else 0,
        "tiers": ", ".join(state.tiers),
        "stages": ", ".join(state.stages),
        "languages": ", ".join(state.languages),
        "consent": state.consent,
        "zone": state.zone,
        "currency": currency,
    }
    rows: list[tuple[Button, ...]] = []
    if step is Step.AUDIENCE:
        rows = _audience_buttons(state, locales)
    elif step is Step.MESSAGE:
        asking = state.asking(locales) or default_locale
        params |= {"asking": asking, "default_locale": default_locale}
        if asking != default_locale:
            rows = [(_b("same", button(step, "same"), default_locale=default_locale),)]
    elif step is Step.LINK:
        rows = [(_b("no_link", button(step, "nolink")),)]
    elif step is Step.COUPON:
        rows = _coupon_buttons(policy, currency)
    elif step is Step.HOLDOUT:
        presets = policy.holdout_presets
        rows = [tuple(_b("holdout", button(step, "holdout", str(h)), value=h) for h in presets)]
    elif step is Step.SCHEDULE:
        rows = [(_b("now", button(step, "now")),)]
    elif step is Step.PREVIEW:
        params |= summary(campaign)
        rows = [(_b("test", button(step, "test")),), (_b("confirm", button(step, "confirm")),)]
    rows.append(_back_cancel(step))
    return Reply(f"campaign_wizard.step.{step.value}", params, buttons=tuple(rows))


def summary(campaign: Campaign | None) -> dict[str, object]:
    """What the preview and the confirmation say about the stored campaign."""
    if campaign is None:
        return {"id": 0, "name": "", "when": None, "zone": "UTC", "coupon": None, "holdout": 0}
    spec = campaign.spec
    at = spec.schedule.at if spec.schedule.kind is ScheduleKind.AT else None
    coupon = spec.coupon
    return {
        "id": campaign.id,
        "name": spec.name,
        "when": at.strftime("%Y-%m-%d %H:%M UTC") if at else None,
        "zone": spec.schedule.timezone,
        "coupon": None if coupon is None else {"kind": coupon.kind.value, "value": coupon.value},
        "holdout": round(spec.holdout * 100),
    }


def preview_replies(previews: Sequence[PreviewMessage]) -> list[Reply]:
    """The campaign's message per locale as its sample customer gets it: the text as rapport
    words it, with its link buttons (the opt-out button is named, not shown, so pressing it
    here changes nobody's consent)."""
    replies = []
    for shown in previews:
        links = tuple(
            (Button("campaign_wizard.link_label", "", {"label": b.text}, url=b.url),)
            for row in shown.message.buttons
            for b in row
            if b.url
        )
        params = {
            "lang": shown.locale,
            "sample": shown.sample,
            "text": Trusted(shown.message.text),
        }
        replies.append(Reply("campaign_wizard.preview", params, buttons=links))
    return replies


def outcome_replies(
    outcome: WizardOutcome,
    locales: Sequence[str],
    default_locale: str,
    policy: CampaignWizardPolicy,
    currency: str,
    edit_message_id: int | None = None,
) -> list[Reply]:
    """Everything the wizard says after an answer: a correction, the preview, a test's
    confirmation, the next step's question — or that the campaign is scheduled or the wizard
    cancelled. After a button press with nothing else to say first (a toggle, the next step)
    the pressed message is edited in place, so the chat keeps one message per step."""
    moved = outcome.transition
    state = moved.state
    replies: list[Reply] = []
    if outcome.resumed:
        replies.append(Reply("campaign_wizard.resumed"))
    if moved.correction:
        params = dict(moved.params)
        if outcome.refused:
            draft = outcome.campaign
            params |= {
                "id": draft.id if draft else 0,
                "now_state": draft.state.value if draft else None,
            }
        replies.append(Reply(moved.correction, params))
    if state is None:
        if outcome.campaign is not None:
            replies.append(Reply("campaign_wizard.scheduled", summary(outcome.campaign)))
        else:
            replies.append(Reply("campaign_wizard.cancelled"))
        return replies
    if outcome.tested:
        replies.append(Reply("campaign_wizard.tested", {"count": outcome.tested}))
    replies.extend(preview_replies(outcome.previews))
    reply = step_reply(
        state, outcome.size, locales, default_locale, policy, currency, outcome.campaign
    )
    if edit_message_id is not None and not replies:
        reply = Reply(reply.key, reply.params, reply.buttons, edit_message_id=edit_message_id)
    replies.append(reply)
    return replies


def _board_button(verb: str, campaign_id: int) -> Button:
    return Button(
        f"campaign_wizard.board_button.{verb}",
        board_button(campaign_id, verb),
        {"id": campaign_id},
    )


def board_reply(lines: Sequence[BoardLine], edit_message_id: int | None = None) -> Reply:
    """``/campaigns``: one line per campaign, and a row of its buttons."""
    rows: list[tuple[Button, ...]] = []
    shown = []
    for line in lines:
        c = line.campaign
        cid = c.id or 0
        shown.append(
            {
                "id": cid,
                "name": c.spec.name,
                "state": c.state.value,
                "sent": line.sent,
                "audience": line.audience,
                "next": c.next_run_at.strftime("%Y-%m-%d %H:%M UTC") if c.next_run_at else None,
            }
        )
        verbs = [*(a.value for a in line.actions), REPORT]
        rows.append(tuple(_board_button(verb, cid) for verb in verbs))
    return Reply(
        "campaign_wizard.board",
        {"lines": shown},
        buttons=tuple(rows),
        edit_message_id=edit_message_id,
    )


def action_done(action: Action) -> str:
    """The button answer after a change of state."""
    return f"campaign_wizard.done.{action.value}"


def report_reply(campaign_id: int, r: CampaignReport) -> Reply:
    """The Report button: every recipient counted once, whether that adds up, coupons."""
    params = {
        "id": campaign_id,
        "audience": r.audience,
        "holdout": r.holdout,
        "sent": r.sent,
        "failed": sum(r.failed.values()),
        "blocked": sum(r.blocked.values()),
        "no_consent": r.skipped_consent,
        "cap": r.skipped_cap,
        "cancelled": r.cancelled,
        "unworded": r.unworded,
        "waiting": r.waiting,
        "adds_up": r.adds_up,
        "issued": r.coupons_issued,
        "redeemed": r.coupons_redeemed,
    }
    return Reply("campaign_wizard.report", params)
