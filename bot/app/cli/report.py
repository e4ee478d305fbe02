"""``rapport report …``: reviews computed from the database."""

from __future__ import annotations

import asyncio
import csv
import sys
from typing import Annotated

import typer

from bot.app.cli.common import fail, load_settings
from bot.app.cli.records_common import database
from bot.app.settings import Settings
from bot.core.clock import SystemClock
from bot.core.reports import ComplaintReview, complaint_review, month_bounds
from bot.core.spreadsheet import safe_rows

app = typer.Typer(help="Reports for managers.", no_args_is_help=True)


async def _load(settings: Settings, month: str) -> ComplaintReview:
    start, end = month_bounds(month)
    async with database(settings) as (_engine, factory), factory() as uow:
        tickets = await uow.tickets.created_between(start, end)
        ratings = await uow.ratings.for_tickets_created_between(start, end)
    return complaint_review(
        tickets,
        month,
        SystemClock().now(),
        ratings=ratings,
        low_at_most=settings.rating_reopen_at_most,
    )


@app.command("complaints")
def complaints(
    month: Annotated[str, typer.Option(help="The month to review, YYYY-MM.")],
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
) -> None:
    """The monthly complaint review: volumes, SLA compliance, response times, causes,
    satisfaction."""
    try:
        month_bounds(month)
    except ValueError as exc:
        fail(str(exc))
    settings = load_settings()
    review = asyncio.run(_load(settings, month))
    rows = review.rows()
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["measure", "value"])
        writer.writerows(safe_rows(rows))  # causes and names are free text
        return
    width = max(len(k) for k, _ in rows)
    typer.echo(f"Complaint review {month}")
    for key, value in rows[1:]:
        typer.echo(f"  {key:<{width}}  {value}")
