"""``rapport import customers FILE`` and ``rapport import orders FILE`` (CSV, or JSON Lines by
the ``.jsonl`` extension).

The whole file is checked first and nothing is written unless it can be read as a whole; then
the accepted rows are written in batched transactions, idempotently. Every bad row is reported
on stderr as ``file:line: reason``, and the summary on stdout says exactly what was committed.

Exit status: 0 when every row was accepted; 1 when some rows were rejected (the others were
imported) or writing stopped part-way; 2 when the file cannot be read (nothing was imported).
"""

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
from bot.core.coupons import REFUSALS, Redemption
from bot.core.records import PersonalDataError
from storage.import_files import FileFormatError, ImportReport, count_rows

app = typer.Typer(help="Import the shop's customers and orders.", no_args_is_help=True)

FileArgument = Annotated[
    Path, typer.Argument(help="A .csv file (header row) or a .jsonl file (one object a line).")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]

#: Exit status when some rows were rejected or writing stopped part-way.
SOME_REJECTED = 1


def _summary(kind: str, report: ImportReport) -> str:
    new_customers = (
        f"; {report.customers_created} new customers from unknown references"
        if kind == "orders" and report.customers_created
        else ""
    )
    return (
        f"{kind}: {report.rows} rows read, {report.committed} committed "
        f"({report.created} created, {report.updated} updated, {report.unchanged} unchanged), "
        f"{len(report.rejected)} rejected{new_customers}{_coupons(report)}{_consent(report)}"
    )


def _consent(report: ImportReport) -> str:
    """ "; marketing consent: 3 given, 1 withdrawn, 1 opt-out kept (the customer's own, from
    the chat)" — only when rows changed a consent or met an opt-out."""
    given, withdrawn = report.consent["given"], report.consent["withdrawn"]
    kept = report.consent["opt_out_kept"]
    if not (given or withdrawn or kept):
        return ""
    text = f"; marketing consent: {given} given, {withdrawn} withdrawn"
    if kept:
        text += f", {kept} opt-out(s) kept (the customer's own, from the chat)"
    return text


def _coupons(report: ImportReport) -> str:
    """ "; coupons: 2 redeemed, not redeemed: 1 expired, 1 other_customer" — only when an order
    carried a code this bot issued (the shop's own codes are no concern of rapport's)."""
    refused = {
        r.value: report.coupons[r.value]
        for r in REFUSALS
        if r is not Redemption.UNKNOWN and report.coupons[r.value]
    }
    redeemed = report.coupons[Redemption.REDEEMED.value]
    if not redeemed and not refused:
        return ""
    text = f"; coupons: {redeemed} redeemed"
    if refused:
        text += ", not redeemed: " + ", ".join(f"{n} {why}" for why, n in sorted(refused.items()))
    return text


def _run(
    path: Path,
    kind: str,
    quiet: bool,
    work: Callable[[Callable[[int], None]], Coroutine[Any, Any, ImportReport]],
) -> None:
    from storage.customers_import import ImportInterrupted  # the database layer, when needed

    if not path.is_file():
        fail(f"{path}: no such file")
    total = count_rows(path)
    err = Console(stderr=True)
    with Progress(
        TextColumn(f"checking and importing {kind}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=True,
    ) as progress:
        task = progress.add_task(kind, total=2 * total)  # the check, then the write
        try:
            report = asyncio.run(work(lambda n: progress.advance(task, n)))
        except FileFormatError as exc:
            fail(f"{exc}; nothing was imported")
        except PersonalDataError as exc:
            fail(f"{exc}; nothing was imported")
        except ImportInterrupted as exc:
            report = exc.report
            _print_rejected(path, report)
            typer.echo(_summary(kind, report))
            fail(
                f"{exc.reason}; the import stopped after {report.committed} rows were "
                "committed (see above); running it again is safe",
                SOME_REJECTED,
            )
    _print_rejected(path, report)
    typer.echo(_summary(kind, report))
    if report.rejected:
        fail(
            f"{len(report.rejected)} of {report.rows} rows were rejected (listed above); "
            f"the other {report.committed} were imported",
            SOME_REJECTED,
        )


def _print_rejected(path: Path, report: ImportReport) -> None:
    for line, reason in report.rejected:
        typer.echo(f"{path}:{line}: {reason}", err=True)


@app.command("customers")
def customers(path: FileArgument, quiet: QuietOption = False) -> None:
    """Columns: customer_ref, name, phone, email, birthday, language, timezone, tags (';')."""
    settings = load_settings()
    personal = cipher(settings, required=True)

    async def work(progress: Callable[[int], None]) -> ImportReport:
        from storage.customers_import import import_customers_file

        async with database(settings, personal) as (engine, _uow):
            return await import_customers_file(
                engine,
                path,
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
        from storage.customers_import import import_orders_file

        async with database(settings) as (engine, _uow):
            return await import_orders_file(
                engine,
                path,
                shop_currency=settings.shop_currency,
                now=datetime.now(UTC),
                policy=policy,
                batch_size=settings.import_batch_size,
                sqlite_cache_mib=settings.import_sqlite_cache_mib,
                progress=progress,
            )

    _run(path, "orders", quiet, work)
