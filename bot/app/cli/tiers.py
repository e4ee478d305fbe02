"""``rapport tiers recompute`` and ``rapport tiers show`` (SPEC §3)."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from bot.app.cli.common import load_settings
from bot.app.cli.records_common import AsOfOption, JsonOption, database, parse_as_of, tier_policy
from bot.core.tiers import Lifecycle, Tier

if TYPE_CHECKING:  # the database layer is imported by the commands that use it
    from storage.tiers_recompute import Distribution, RecomputeReport

app = typer.Typer(help="RFM value tiers, RF segments and lifecycle stages.", no_args_is_help=True)


@app.command("recompute")
def recompute(as_of: AsOfOption = None) -> None:
    """Roll the RFM window to --as-of, score every customer and record tier changes."""
    settings = load_settings()
    policy = tier_policy(settings)
    moment = parse_as_of(as_of)

    async def work() -> RecomputeReport:
        from storage.tiers_recompute import recompute_tiers

        async with database(settings) as (engine, _uow):
            return await recompute_tiers(engine, moment, policy)

    report = asyncio.run(work())
    tiers = ", ".join(f"{name} {n}" for name, n in report.tiers.items())
    typer.echo(
        f"tiers as of {report.as_of}: {report.customers} customers ({tiers}); "
        f"{report.changes} tier changes recorded; {report.seconds:.2f} s"
    )


@app.command("show")
def show(as_json: JsonOption = False) -> None:
    """The distribution: tier × lifecycle stage, and RF segments."""
    settings = load_settings()

    async def work() -> Distribution:
        from storage.tiers_recompute import distribution

        async with database(settings) as (engine, _uow):
            return await distribution(engine)

    dist = asyncio.run(work())
    if as_json:
        typer.echo(json.dumps(dist.as_json()))
        return
    console = Console()
    tiered = sum(n for t, n in dist.tiers.items() if t != Tier.PROSPECT.value)
    table = Table(title=f"Tiers × lifecycle (as of {dist.as_of or 'never computed'})")
    table.add_column("tier")
    for stage in Lifecycle:
        table.add_column(stage.value, justify="right")
    table.add_column("total", justify="right")
    table.add_column("share", justify="right")
    for tier in Tier:
        row = dist.matrix[tier.value]
        total = dist.tiers[tier.value]
        share = "" if tier is Tier.PROSPECT or not tiered else f"{100 * total / tiered:.1f} %"
        table.add_row(tier.value, *(str(row[s.value]) for s in Lifecycle), str(total), share)
    console.print(table)
    segments = Table(title="RF segments")
    segments.add_column("segment")
    segments.add_column("customers", justify="right")
    for name, n in dist.segments.items():
        segments.add_row(name, str(n))
    console.print(segments)
