"""``rapport outbox status`` and ``rapport outbox retry`` (issue #9): what the outbox of
scheduled messages holds, and putting failed messages back.

The database layer is imported inside the commands, not here: ``rapport --help`` and the
other commands start without it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from bot.app.cli.common import fail, load_settings
from bot.app.cli.records_common import JsonOption, database

if TYPE_CHECKING:
    from bot.app.settings import Settings
    from bot.core.outbox_model import OutboxSummary

app = typer.Typer(help="The outbox of messages scheduled jobs send.", no_args_is_help=True)


def staff_chats(settings: Settings) -> dict[int, str]:
    """The configured staff chats, each with what it is for (a chat serving two roles is
    named once, by the first)."""
    found: dict[int, str] = {}
    for chat_id, role in (
        (settings.staff_chat_id, "staff group"),
        (settings.supervisor_chat_id, "supervisors"),
        (settings.manager_chat_id, "managers"),
    ):
        if chat_id is not None:
            found.setdefault(chat_id, role)
    return found


def summary_json(summary: OutboxSummary, staff: dict[int, str]) -> dict[str, object]:
    lanes: dict[str, dict[str, int]] = {}
    for (lane, state), n in sorted(summary.counts.items()):
        lanes.setdefault(lane, {})[state] = n
    return {
        "lanes": lanes,
        "oldest_pending": summary.oldest_pending.isoformat() if summary.oldest_pending else None,
        "last_errors": [
            {"id": i, "state": state, "error": error} for i, state, error in summary.last_errors
        ],
        "failing_staff_chats": [
            {"chat_id": chat, "role": staff.get(chat, ""), "rows": n, "last_error": error}
            for chat, n, error in summary.failing_chats
        ],
    }


@app.command("status")
def status(as_json: JsonOption = False) -> None:
    """Messages by lane and state, the oldest one waiting, the latest errors, and the staff
    chats whose messages keep failing (failed, skipped, or waiting to be tried again)."""
    settings = load_settings()
    staff = staff_chats(settings)

    async def work() -> OutboxSummary:
        async with database(settings) as (_engine, uow_factory), uow_factory() as uow:
            return await uow.outbox.summary(watch=list(staff))

    summary = asyncio.run(work())
    if as_json:
        typer.echo(json.dumps(summary_json(summary, staff)))
        return
    if not summary.counts:
        typer.echo("the outbox is empty")
        return
    for (lane, state), n in sorted(summary.counts.items()):
        typer.echo(f"{lane:10} {state:8} {n:>8}")
    if summary.oldest_pending is not None:
        age = datetime.now(UTC) - summary.oldest_pending
        typer.echo(f"oldest pending: {summary.oldest_pending.isoformat()} ({age} ago)")
    for outbox_id, state, error in summary.last_errors:
        typer.echo(f"#{outbox_id} {state}: {error}")
    for chat, n, error in summary.failing_chats:
        typer.echo(
            f"ERROR: staff chat {chat} ({staff.get(chat, '?')}) cannot be reached: "
            f"{n} message(s) failing; latest: {error}"
        )


@app.command("retry")
def retry(
    outbox_id: Annotated[int | None, typer.Argument(help="The message's id.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed message.")] = False,
) -> None:
    """Put a failed or skipped message (or, with --failed, every failed one) back in line."""
    if (outbox_id is None) == (not failed):
        fail("give one message id, or --failed")
    settings = load_settings()

    async def work() -> int:
        now = datetime.now(UTC)
        async with database(settings) as (_engine, uow_factory), uow_factory() as uow:
            if outbox_id is not None:
                count = 1 if await uow.outbox.requeue(outbox_id, now) else 0
            else:
                count = await uow.outbox.requeue_failed(now)
            await uow.commit()
        return count

    count = asyncio.run(work())
    if outbox_id is not None and count == 0:
        fail(f"no failed or skipped message #{outbox_id}")
    typer.echo(f"{count} message(s) back in line")
