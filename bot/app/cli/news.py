"""``rapport news add`` and ``rapport news list``: the product news the mid tier's playbook
rule carries (``content: news``, :mod:`bot.core.engagement.news`).

Each item is written in one locale and reaches the customers of that locale only; add one
per language to reach everyone. Nothing is sent from here: the playbook's next run sends
each mid-tier customer the items they have not had yet, within ``RAPPORT_NEWS_FRESH_DAYS``.

Only marketing and admins change the news (SPEC §1; :data:`bot.core.roles.ALLOWED`):
``news add`` names the acting person with ``--by`` (their Telegram user id on the staff
roster), whose role is checked and the attempt audited (``staff_audit``, action ``news``),
allowed or refused. Telegram offers no way to change news.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from bot.app.cli.common import fail, load_settings
from bot.app.cli.records_common import JsonOption, database
from bot.app.settings import LOCALES
from bot.core.engagement.news import NewsItem
from bot.core.roles import Action
from bot.core.services.staff import authorise_actor

app = typer.Typer(help="Product news for the mid tier's messages.", no_args_is_help=True)

TITLE_LIMIT = 200
"""Characters of a title (the column's width)."""
BODY_LIMIT = 1000
"""Characters of a body: three items and the greeting stay within Telegram's 4,096."""


def _body(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        fail(f"{path}: cannot be read ({exc.strerror or exc})")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        fail(f"{path}:{line}: not UTF-8 text (byte {exc.start + 1})")
    if "\x00" in text:
        fail(f"{path}:{text[: text.index(chr(0))].count(chr(10)) + 1}: contains a NUL byte")
    text = text.strip()
    if not text:
        fail(f"{path}: is empty; the news needs a body")
    if len(text) > BODY_LIMIT:
        fail(f"{path}: {len(text)} characters; at most {BODY_LIMIT}")
    return text


@app.command("add")
def add(
    title: Annotated[str, typer.Option(help=f"The headline (at most {TITLE_LIMIT} characters).")],
    body_file: Annotated[
        Path, typer.Option("--body-file", help="A UTF-8 text file with the item's text.")
    ],
    locale: Annotated[str, typer.Option(help=f"Its language: {', '.join(LOCALES)}.")],
    by: Annotated[
        int,
        typer.Option(
            "--by", help="Who adds it: their Telegram user id on the roster (marketing or admin)."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Add a news item in one language; the playbook's next run sends it to the mid tier."""
    if locale not in LOCALES:
        fail(f"--locale {locale!r} is not one of {', '.join(LOCALES)}")
    title = title.strip()
    if not title or len(title) > TITLE_LIMIT or "\x00" in title:
        fail(f"--title must be 1 to {TITLE_LIMIT} characters of text")
    body = _body(body_file)
    settings = load_settings()

    async def work() -> NewsItem | str:
        now = datetime.now(UTC)
        async with database(settings) as (_engine, uow_factory), uow_factory() as uow:
            member, allowed = await authorise_actor(
                uow, by, Action.NEWS, now, detail=f"news add ({locale})"
            )
            if not allowed:
                await uow.commit()  # the refusal stays in the audit trail
                who = f"is {member.role.value}" if member else "is not on the staff roster"
                return f"--by {by} {who}; only marketing and admin may add news"
            stored = await uow.news.add(NewsItem(0, locale, title, body, now))
            await uow.commit()
        return stored

    stored = asyncio.run(work())
    if isinstance(stored, str):
        fail(stored)
    if as_json:
        typer.echo(json.dumps(_json(stored)))
    else:
        typer.echo(f"news #{stored.id} ({stored.locale}) added: {stored.title}")


@app.command("list")
def list_news(
    days: Annotated[int, typer.Option(min=1, help="Items added within this many days.")] = 90,
    as_json: JsonOption = False,
) -> None:
    """News items of the last DAYS days, newest first."""
    settings = load_settings()

    async def work() -> list[NewsItem]:
        since = datetime.now(UTC) - timedelta(days=days)
        async with database(settings) as (_engine, uow_factory), uow_factory() as uow:
            return await uow.news.since(since)

    items = list(reversed(asyncio.run(work())))
    if as_json:
        typer.echo(json.dumps([_json(item) for item in items]))
        return
    if not items:
        typer.echo(f"no news in the last {days} days")
    for item in items:
        typer.echo(f"#{item.id} {item.created_at:%Y-%m-%d %H:%M} {item.locale:8} {item.title}")


def _json(item: NewsItem) -> dict[str, object]:
    return {
        "id": item.id,
        "locale": item.locale,
        "title": item.title,
        "body": item.body,
        "created_at": item.created_at.isoformat(),
    }
