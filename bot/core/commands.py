"""Bot commands: parsing a message's text and the menu the bot advertises."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

# /command or /command@botname, then optional arguments (Telegram: 1–32 chars, a-z 0-9 _).
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?:\s+(.*))?$", re.S)

MENU: tuple[str, ...] = (
    "start",
    "help",
    "complaint",
    "status",
    "language",
    "coupons",
    "points",
    "stop",
)
"""Commands shown in Telegram's menu, in order; descriptions are templates ``commands.<name>``."""


def parse_command(text: str | None, bot_username: str | None = None) -> tuple[str, str] | None:
    """``"/Start@shop_bot  ref42"`` → ``("start", "ref42")``; ``None`` when not a command, or
    when the command is addressed to another bot."""
    if not text:
        return None
    found = _COMMAND.match(text.strip())
    if found is None:
        return None
    name, addressee, args = found.groups()
    if addressee and bot_username and addressee.lower() != bot_username.lower():
        return None
    return name.lower(), (args or "").strip()


def menu_language_code(locale: str) -> str:
    """Telegram keys command menus by a two-letter language code; both Chinese scripts share
    ``zh``, which gets the Simplified menu (a Traditional reader still sees Chinese)."""
    return locale.split("-")[0]


def menus(
    describe: Callable[[str, str], str], locales: Sequence[str], default_locale: str
) -> list[tuple[str | None, list[tuple[str, str]]]]:
    """The command menu per client language: ``(None, …)`` is the fallback in the default
    locale. `describe(key, locale)` renders a description template."""
    result: list[tuple[str | None, list[tuple[str, str]]]] = []
    seen: set[str] = set()
    for locale in (default_locale, *locales):
        code: str | None = None if not result else menu_language_code(locale)
        if code is not None and code in seen:
            continue
        if code is not None:
            seen.add(code)
        result.append((code, [(name, describe(f"commands.{name}", locale)) for name in MENU]))
    return result
