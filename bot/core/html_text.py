"""Lengths and cuts of Telegram-HTML text as Telegram counts them (issue #14).

Telegram's limits (4,096 characters a message) apply to the text *after* entity parsing: tags
do not count and ``&lt;`` is one character. It counts in UTF-16 code units (an emoji outside
the Basic Multilingual Plane is two), so everything here does too. A cut never splits a tag, an
entity or a surrogate pair, and closes every tag it leaves open, so the result still parses.

Standard library only; the rendered text is trusted template output (customer words are
escaped by the renderer), so a lone ``<`` or ``&`` is simply counted as one character.
"""

from __future__ import annotations

import html
import re

#: Telegram's limit on a message's text after entity parsing (Bot API ``sendMessage``).
TELEGRAM_TEXT_LIMIT = 4096
#: What ends a cut text: one visible character.
ELLIPSIS = "…"

_TOKEN = re.compile(
    r"(?P<tag></?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?>)"
    r"|(?P<entity>&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);)"
    r"|(?P<text>[^<&]+|[<&])"
)
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units (how Telegram counts)."""
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int, ellipsis: str = ELLIPSIS) -> tuple[str, int]:
    """Plain `text` (not yet escaped) in at most `limit` UTF-16 units: ``(text, 0)`` when it
    fits, else its longest prefix that fits with `ellipsis` and the number of characters left
    out. Never splits a surrogate pair."""
    if utf16_len(text) <= limit:
        return text, 0
    budget, used, kept = limit - utf16_len(ellipsis), 0, 0
    for char in text:
        used += utf16_len(char)
        if used > budget:
            break
        kept += 1
    prefix = text[:kept].rstrip()
    return prefix + ellipsis, len(text) - len(prefix)


def visible_length(markup: str) -> int:
    """Length of what Telegram shows for `markup` (parse mode HTML), in UTF-16 code units."""
    total = 0
    for match in _TOKEN.finditer(markup):
        if match.lastgroup == "entity":
            total += utf16_len(html.unescape(match.group()))
        elif match.lastgroup == "text":
            total += utf16_len(match.group())
    return total


def fit_html(markup: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """`markup` unchanged if its visible text fits in `limit` UTF-16 units; else its longest
    prefix that fits with `ellipsis` added, cut between characters (never inside a tag or an
    entity) and with every tag still open closed in order."""
    if visible_length(markup) <= limit:
        return markup
    budget = limit - utf16_len(ellipsis)
    out: list[str] = []
    open_tags: list[str] = []
    used = 0
    for match in _TOKEN.finditer(markup):
        token, kind = match.group(), match.lastgroup
        if kind == "tag":
            named = _TAG_NAME.match(token)
            name = named.group(1).lower() if named else ""
            if token.startswith("</"):
                if open_tags and open_tags[-1] == name:
                    open_tags.pop()
            else:
                open_tags.append(name)
            out.append(token)
            continue
        plain = html.unescape(token) if kind == "entity" else token
        size = utf16_len(plain)
        if used + size <= budget:
            out.append(token)
            used += size
            continue
        if kind == "text":
            for char in token:  # code points: a surrogate pair is never split
                width = utf16_len(char)
                if used + width > budget:
                    break
                out.append(char)
                used += width
        break
    out.append(html.escape(ellipsis, quote=False))
    out.extend(f"</{name}>" for name in reversed(open_tags))
    return "".join(out)
