"""``rapport report …``: reviews computed from the database."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from bot.app.cli.common import fail, load_settings
from bot.app.cli.records_common import database
from bot.app.policies import profile_policy
from bot.app.settings import Settings
from bot.core.clock import SystemClock
from bot.core.profile import Completeness, ProfilePolicy
from bot.core.reports import ComplaintReview, complaint_review, month_bounds
from bot.core.services.profile import ACTIVE_STAGES, profile_report
from bot.core.spreadsheet import safe_rows
from bot.core.surveys import NpsLine, nps_summary, quarter_bounds

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


NPS_COLUMNS = (
    "tier",
    "sent",
    "responses",
    "response_rate",
    "promoters",
    "passives",
    "detractors",
    "nps",
)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def nps_rows(lines: list[NpsLine]) -> list[list[str]]:
    """One row per tier and the total, as the CSV and the table print them (percentages with
    one decimal; empty when nothing was sent or answered)."""
    return [
        [
            line.tier,
            str(line.sent),
            str(line.responses),
            _percent(line.response_rate),
            str(line.promoters),
            str(line.passives),
            str(line.detractors),
            _percent(line.nps),
        ]
        for line in lines
    ]


def nps_json(quarter: str, lines: list[NpsLine]) -> dict[str, object]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "quarter": quarter,
        "tiers": [
            {
                "tier": line.tier,
                "sent": line.sent,
                "responses": line.responses,
                "response_rate": rounded(line.response_rate),
                "promoters": line.promoters,
                "passives": line.passives,
                "detractors": line.detractors,
                "nps": rounded(line.nps),
            }
            for line in lines
        ],
    }


async def _surveys(settings: Settings, quarter: str) -> list[NpsLine]:
    start, end = quarter_bounds(quarter)
    async with database(settings) as (_engine, factory), factory() as uow:
        surveys = await uow.surveys.sent_between(start, end)
    return nps_summary(surveys)


@app.command("nps")
def nps(
    quarter: Annotated[
        str, typer.Option(help="The quarter whose surveys to review, e.g. 2026Q4.")
    ],
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Net Promoter Score by tier for the surveys sent in a quarter: sent, responses, response
    rate, promoters (9–10), passives (7–8), detractors (0–6), and NPS = % promoters − %
    detractors. A survey counts in the quarter it was sent, under the tier the customer had
    then."""
    try:
        quarter_bounds(quarter)
    except ValueError as exc:
        fail(str(exc))
    settings = load_settings()
    lines = asyncio.run(_surveys(settings, quarter))
    if as_json:
        typer.echo(json.dumps(nps_json(quarter, lines)))
        return
    rows = nps_rows(lines)
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(NPS_COLUMNS)
        writer.writerows(rows)
        return
    typer.echo(f"NPS {quarter} (surveys sent in the quarter, by tier at the send)")
    _table(NPS_COLUMNS, rows)


def _table(columns: Sequence[str], rows: list[list[str]]) -> None:
    """Prints `rows` under `columns`, right-aligned."""
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    for row in (list(columns), *rows):
        typer.echo("  " + "  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))


def profile_columns(policy: ProfilePolicy) -> list[str]:
    return [
        "group",
        "customers",
        *(f"{f.value}_percent" for f in policy.fields),
        "complete_percent",
        "gap_to_target",
    ]


def profile_rows(groups: Sequence[Completeness], policy: ProfilePolicy) -> list[list[str]]:
    """One row per group (all, then each tier): shares with one decimal, empty for an empty
    group; the gap in percentage points to the target (0.0 when met)."""
    return [
        [
            group.group,
            str(group.customers),
            *(_percent(group.share(group.present[f])) for f in policy.fields),
            _percent(group.share(group.complete)),
            _percent(group.gap(policy.target_percent)),
        ]
        for group in groups
    ]


def profile_json(groups: Sequence[Completeness], policy: ProfilePolicy) -> dict[str, object]:
    def one(group: Completeness) -> dict[str, object]:
        return {
            "customers": group.customers,
            "present": {f.value: group.present[f] for f in policy.fields},
            "present_percent": {f.value: group.share(group.present[f]) for f in policy.fields},
            "complete": group.complete,
            "complete_percent": group.share(group.complete),
            "gap_to_target": group.gap(policy.target_percent),
            "target_met": (group.gap(policy.target_percent) or 0.0) == 0.0 and group.customers > 0,
        }

    overall, *tiers = groups
    return {
        "target_percent": policy.target_percent,
        "active": list(ACTIVE_STAGES),
        "fields": [f.value for f in policy.fields],
        "all": one(overall),
        "tiers": {group.group: one(group) for group in tiers},
    }


@app.command("profile")
def profile(
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Profile completeness of the active customers (lifecycle new or active, as the tiers were
    last computed) against the SPEC §2 target: the share with each field (language, time zone,
    linked shop account; RAPPORT_PROFILE_FIELDS), the share complete, and the gap to
    RAPPORT_PROFILE_TARGET_PERCENT — overall and by tier."""
    settings = load_settings()
    policy = profile_policy(settings)

    async def load() -> list[Completeness]:
        async with database(settings) as (_engine, factory):
            overall, tiers = await profile_report(factory, policy)
        return [overall, *tiers]

    groups = asyncio.run(load())
    if as_json:
        typer.echo(json.dumps(profile_json(groups, policy)))
        return
    rows = profile_rows(groups, policy)
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(profile_columns(policy))
        writer.writerows(rows)
        return
    overall = groups[0]
    typer.echo(
        f"Profile completeness of {overall.customers} active customers "
        f"(target {policy.target_percent:.1f} % complete)"
    )
    _table(profile_columns(policy), rows)
