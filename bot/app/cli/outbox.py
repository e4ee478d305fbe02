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
    from bot.core.outbox_model import OutboxSummary

app = typer.Typer(help="The outbox of messages scheduled jobs send.", no_args_is_help=True)


def summary_json(summary: OutboxSummary) -> dict[str, object]:
    lanes: dict[str, dict[str, int]] = {}
    for (lane, state), n in sorted(summary.counts.items()):
        lanes.setdefault(lane, {})[state] = n
    return {
        "lanes": lanes,
        "oldest_pending": summary.oldest_pending.isoformat() if summary.oldest_pending else None,
        "last_errors": [
            {"id": i, "state": state, "error": error} for i, state, error in summary.last_errors
        ],
    }


@app.command("status")
def status(as_json: JsonOption = False) -> None:
    """Messages by lane and state, the oldest one waiting, and the latest errors."""
    settings = load_settings()

    async def work() -> OutboxSummary:
        async with database(settings) as (_engine, uow_factory), uow_factory() as uow:
            return await uow.outbox.summary()

    summary = asyncio.run(work())
    if as_json:
        typer.echo(json.dumps(summary_json(summary)))
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
