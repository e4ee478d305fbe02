"""A campaign's message as a customer (or a staff member, or a preview) gets it."""

from __future__ import annotations

import html
from typing import Any

from bot.core.campaigns.model import (
    CampaignSpec,
    LocaleMessage,
)
from bot.core.consent import OPT_OUT_DATA
from bot.core.html_text import TELEGRAM_TEXT_LIMIT, fit_html, visible_length
from bot.core.messages import OutButton, Outgoing
from bot.core.ports import Renderer
from bot.core.services.campaigns.tools import CampaignTools
from bot.core.services.engagement import OFFER_KEY, OPT_OUT_KEY, offer_params

SAMPLE_NAME_KEY = "campaign.sample_name"
OFFER_LINE_KEY = "campaign.offer_line"


def message_for(spec: CampaignSpec, locale: str, default_locale: str) -> tuple[str, LocaleMessage]:
    """The message a customer of `locale` gets (the default locale's when theirs has none),
    with the locale it is written in."""
    if locale in spec.messages:
        return locale, spec.messages[locale]
    return default_locale, spec.messages[default_locale]


def word(
    renderer: Renderer,
    spec: CampaignSpec,
    locale: str,
    default_locale: str,
    *,
    chat_id: int,
    name: str,
    offer: str | None,
    customer_id: int | None,
) -> Outgoing:
    """The campaign's message for one chat: its text (inline text escaped, ``{name}``
    filled in; or its template rendered with ``name`` and ``offer``), the offer line for
    inline text with a coupon, its link buttons, and the opt-out button. Raises whatever the
    renderer raises for a template it cannot render."""
    written_in, message = message_for(spec, locale, default_locale)
    if message.template is not None:
        params: dict[str, Any] = {"name": name, "offer": offer or ""}
        text = renderer.render(message.template, written_in, params)
    else:
        text = html.escape(message.text or "", quote=False).replace(
            "{name}", html.escape(name, quote=False)
        )
        if offer:
            text += "\n\n" + renderer.render(OFFER_LINE_KEY, written_in, {"offer": offer})
    if visible_length(text) > TELEGRAM_TEXT_LIMIT:
        text = fit_html(text, TELEGRAM_TEXT_LIMIT)
    rows = [(OutButton(b.label, "", b.url),) for b in message.buttons]
    rows.append((OutButton(renderer.render(OPT_OUT_KEY, written_in), OPT_OUT_DATA),))
    return Outgoing(
        chat_id=chat_id,
        text=text,
        buttons=tuple(rows),
        template_key=message.template or "campaign.text",
        about_customer_id=customer_id,
    )


def preview_offer(tools: CampaignTools, spec: CampaignSpec, locale: str) -> str | None:
    """The campaign's offer worded in `locale` without issuing a coupon (preview, test)."""
    coupon = spec.coupon
    if coupon is None:
        return None
    key = OFFER_KEY.format(kind=coupon.kind.value)
    params = offer_params(coupon, tools.policies.engagement.currency)
    return tools.renderer.render(key, locale, params)
