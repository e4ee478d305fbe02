"""Product news for the mid tier (SPEC §8: "product news every two weeks").

Marketing adds items (``rapport news add``), each written in one locale. A playbook rule with
``content: news`` carries the items a customer has not been told about yet: those in their
locale added within the last ``news_fresh_days`` (older news is no longer news) and after the
rule's last message to them, newest first, at most ``news_max_items``. With no such item the rule
sends nothing (skip reason ``nothing_new``), so a quiet fortnight costs no one a place under
the marketing cap. Items in another locale are never sent in place of the customer's own: a
message in the wrong language is worse than none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class NewsItem:
    """One piece of product news, as marketing wrote it (plain text, escaped when shown)."""

    id: int
    locale: str
    title: str
    body: str
    created_at: datetime


def fresh_news(
    items: Iterable[NewsItem], locale: str, since: datetime, now: datetime, limit: int
) -> tuple[NewsItem, ...]:
    """The items in `locale` added after `since` and by `now`, newest first, at most
    `limit`."""
    fresh = [i for i in items if i.locale == locale and since < i.created_at <= now]
    fresh.sort(key=lambda i: (i.created_at, i.id), reverse=True)
    return tuple(fresh[:limit])
