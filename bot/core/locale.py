"""Which locale to speak to a customer (SPEC §7): their own choice, then what Telegram reports,
then the deployment default."""

from __future__ import annotations

from collections.abc import Sequence

TRADITIONAL_REGIONS = frozenset({"tw", "hk", "mo", "hant"})


def locale_from_language_code(code: str | None, supported: Sequence[str]) -> str | None:
    """Maps a Telegram ``language_code`` (IETF tag) onto a supported locale, if any.

    ``zh-TW``, ``zh-HK``, ``zh-MO`` and ``zh-Hant`` → ``zh-Hant``; any other ``zh`` →
    ``zh-Hans``; otherwise the primary language if supported (``en-GB`` → ``en``).
    """
    if not code:
        return None
    parts = code.replace("_", "-").lower().split("-")
    primary = parts[0]
    if primary == "zh":
        locale = "zh-Hant" if TRADITIONAL_REGIONS.intersection(parts[1:]) else "zh-Hans"
        return locale if locale in supported else None
    for candidate in supported:
        if candidate.lower() == primary:
            return candidate
    return None


def resolve_locale(
    chosen: str | None, language_code: str | None, default: str, supported: Sequence[str]
) -> str:
    """The customer's choice if supported, else Telegram's language, else the default."""
    if chosen in supported:
        return chosen  # type: ignore[return-value]
    return locale_from_language_code(language_code, supported) or default
