"""``rapport import customers FILE`` and ``rapport import orders FILE`` (CSV, or JSON Lines by
the ``.jsonl`` extension): streamed, in batched transactions, idempotent, every bad row
reported with its file, line and reason."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.app.cli.common import fail, load_settings
from bot.app.cli.records_common import cipher, database, tier_policy
from bot.app.settings import LOCALES
from bot.core.importing import CUSTOMER_COLUMNS, ORDER_COLUMNS
from bot.core.records import PersonalDataError
from storage.customers_import import (
    FileFormatError,
    ImportReport,
    count_rows,
    import_customers,
    import_orders,
    read_rows,
)

app = typer.Typer(help="Import the shop's customers and orders.", no_args_is_help=True)

FileArgument = Annotated[
    Path, typer.Argument(help="A .csv file (header row) or a .jsonl file (one object a line).")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def _run(
    path: Path,
    kind: str,
    quiet: bool,
    work: Callable[[Callable[[int], None]], Coroutine[Any, Any, ImportReport]],
) -> None:
    if not path.is_file():
        fail(f"{path}: no such file")
    total = count_rows(path)
    err = Console(stderr=True)
    with Progress(
        TextColumn(f"importing {kind}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=True,
    ) as progress:
        task = progress.add_task(kind, total=total)
        try:
            report = asyncio.run(work(lambda n: progress.advance(task, n)))
        except FileFormatError as exc:
            fail(str(exc))
        except PersonalDataError as exc:
            fail(str(exc))
    for line, reason in report.rejected:
        typer.echo(f"{path}:{line}: {reason}", err=True)
    typer.echo(
        f"{kind}: {report.rows} rows read, {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.rejected)} rejected"
        + (
            f"; {report.customers_created} new customers from unknown references"
            if kind == "orders" and report.customers_created
            else ""
        )
    )


@app.command("customers")
def customers(path: FileArgument, quiet: QuietOption = False) -> None:
    """Columns: customer_ref, name, phone, email, birthday, language, timezone, tags (';')."""
    settings = load_settings()
    personal = cipher(settings, required=True)

    async def work(progress: Callable[[int], None]) -> ImportReport:
        rows = read_rows(path, CUSTOMER_COLUMNS, ("customer_ref",))
        async with database(settings, personal) as (engine, _uow):
            return await import_customers(
                engine,
                rows,
                cipher=personal,
                locales=LOCALES,
                now=datetime.now(UTC),
                phone_country_code=settings.phone_country_code,
                batch_size=settings.import_batch_size,
                progress=progress,
            )

    _run(path, "customers", quiet, work)


@app.command("orders")
def orders(path: FileArgument, quiet: QuietOption = False) -> None:
    """Columns: order_id, customer_ref, amount, currency, status, created_at, paid_at,
    delivered_at, coupon_code."""
    settings = load_settings()
    policy = tier_policy(settings)

    async def work(progress: Callable[[int], None]) -> ImportReport:
        rows = read_rows(
            path, ORDER_COLUMNS, ("order_id", "customer_ref", "amount", "status", "created_at")
        )
        async with database(settings) as (engine, _uow):
            return await import_orders(
                engine,
                rows,
                shop_currency=settings.shop_currency,
                now=datetime.now(UTC),
                policy=policy,
                batch_size=settings.import_batch_size,
                progress=progress,
            )

    _run(path, "orders", quiet, work)
