"""Text formatting as Telegram applies it: ``parse_mode=HTML`` → plain text + entities.

Offsets and lengths of entities are in UTF-16 code units, like Telegram's. ``Markdown`` and
``MarkdownV2`` are accepted but not parsed (the text is kept as sent, without entities).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from .errors import bad_request

_SIMPLE_TAGS: dict[str, str] = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "code": "code", "pre": "pre", "tg-spoiler": "spoiler", "blockquote": "blockquote",
}  # fmt: skip
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.entities: list[dict[str, Any]] = []
        self.stack: list[tuple[str, int, dict[str, Any]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        extra: dict[str, Any] = {}
        if tag == "a":
            href = attributes.get("href") or ""
            if not href:
                raise bad_request("can't parse entities: href is missing in <a> tag")
            extra = {"type": "text_link", "url": href}
        elif tag == "span" and attributes.get("class") == "tg-spoiler":
            extra = {"type": "spoiler"}
        elif tag == "blockquote" and "expandable" in attributes:
            extra = {"type": "expandable_blockquote"}
        elif tag in _SIMPLE_TAGS:
            extra = {"type": _SIMPLE_TAGS[tag]}
        else:
            raise bad_request(f'can\'t parse entities: unsupported start tag "{tag}"')
        if tag == "code" and self.stack and self.stack[-1][0] == "pre":
            language = (attributes.get("class") or "").removeprefix("language-")
            if language:
                self.stack[-1][2]["language"] = language
            self.stack.append((tag, -1, {}))
            return
        self.stack.append((tag, utf16_len(self.text), extra))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            raise bad_request(f'can\'t parse entities: unmatched end tag "{tag}"')
        _, start, extra = self.stack.pop()
        length = utf16_len(self.text) - start
        if start >= 0 and length > 0:
            self.entities.append({**extra, "offset": start, "length": length})

    def handle_data(self, data: str) -> None:
        self.text += data


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Strip Telegram-HTML tags from ``source``; return the text and its entities."""
    parser = _Parser()
    parser.feed(source)
    parser.close()
    if parser.stack:
        raise bad_request(f'can\'t parse entities: unclosed start tag "{parser.stack[-1][0]}"')
    entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
    return parser.text, entities


def format_text(
    text: str, parse_mode: Any, entities: Any
) -> tuple[str, list[dict[str, Any]] | None]:
    """Apply ``parse_mode`` or explicit ``entities`` to ``text``."""
    if isinstance(entities, list) and entities:
        return text, entities
    if isinstance(parse_mode, str) and parse_mode.lower() == "html":
        plain, found = parse_html(text)
        return plain, found or None
    return text, None


def command_entities(text: str) -> list[dict[str, Any]] | None:
    """The ``bot_command`` entity of a text starting with ``/command`` (as a client adds)."""
    match = _COMMAND_RE.match(text)
    if not match:
        return None
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]
