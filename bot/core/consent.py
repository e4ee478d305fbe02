"""Marketing consent (SPEC §8, §12): who may receive offers and news, and the record of every
change.

A customer's consent lives on their profile (``marketing_consent`` and the moment it last
changed, ``marketing_consent_at``); every change is also written to a log with its moment and
its :class:`ConsentSource`, so the business can show when and how a customer said yes or no.
Consent is absent until given. Opting out concerns marketing only: service messages (replies,
ticket and order updates, payment reminders) keep coming.

A customer the shop never imported has no profile row; opting out (or in) creates one that
holds nothing but the consent and no personal data — it is the one place the engagement
guards read (:mod:`bot.core.engagement.guards`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

OPT_OUT_DATA = "optout:marketing"
"""The callback data of the opt-out button on every marketing message."""
OPT_IN_DATA = "optin:marketing"
"""The callback data of the "receive offers again" button under an opt-out confirmation."""


class ConsentSource(StrEnum):
    """How a consent change came about."""

    BUTTON = "button"
    """The opt-out button on a marketing message, or the opt-in button under its answer."""
    STOP = "stop"
    START = "start"
    """``/start`` from a customer who had opted out: they are back."""
    IMPORT = "import"


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """One entry of the consent log."""

    customer_id: int
    consent: bool
    source: ConsentSource
    at: datetime


@dataclass(frozen=True, slots=True)
class ConsentState:
    """The customer's consent as it stands: the flag, and when it last changed (None: the
    customer never said anything, and has no consent)."""

    consent: bool = False
    at: datetime | None = None


def opted_out(state: ConsentState) -> bool:
    """Whether the customer said no to marketing (as against never having said anything)."""
    return not state.consent and state.at is not None


def needs_change(state: ConsentState, consent: bool) -> bool:
    """Whether recording `consent` changes anything: the flag differs, or a withdrawal comes
    from somebody who never said anything (recorded, so ``/start`` can later bring them back
    and the log shows they said no)."""
    return state.at is None or state.consent != consent


CHAT_SOURCES = frozenset({ConsentSource.BUTTON, ConsentSource.STOP, ConsentSource.START})
"""Decisions the customer made themselves, in the chat."""


def import_may_set(state: ConsentState, last_source: ConsentSource | None, consent: bool) -> bool:
    """Whether a customer file's `consent` is recorded. It must change something; and it may
    withdraw consent always, but never give it back to a customer whose current "no" they
    said themselves in the chat (a file exported before they did must not undo it: only they
    can, with ``/start`` or the button)."""
    if not needs_change(state, consent):
        return False
    return not (consent and opted_out(state) and last_source in CHAT_SOURCES)
