"""``rapport campaign …``: marketing campaigns (SPEC §10; docs/campaigns.md).

``create --file`` reads a campaign file (:mod:`bot.app.campaign_file`) into a draft;
``schedule`` makes it due (now, at its time, or at each moment of its cron expression) and
the bot's scheduler delivers it (``campaign_tick_seconds``). ``show``, ``preview``, ``test``,
``pause``, ``resume``, ``cancel`` and ``report`` do what they say; every command takes
``--json``, and ``report`` also ``--csv``. Each calls one use case of
:mod:`bot.core.services.campaigns`; a refused request ends with ``error: <field or state>:
<why>`` and exit status 2. Who may run these is whoever may run ``rapport`` on the server
(marketing and administrators).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot.app.cli.common import fail, load_settings
from bot.app.cli.records_common import JsonOption, cipher, database
from bot.app.settings import LOCALES, Settings
from bot.core.campaigns.codec import spec_data
from bot.core.campaigns.model import Action, Campaign, CampaignError
from bot.core.campaigns.uplift import CampaignReport, Group, Interval
from bot.core.services import campaigns as service
from bot.core.services.campaigns import CampaignTools

app = typer.Typer(
    help="Marketing campaigns: audience, message, schedule, report.", no_args_is_help=True
)

T = TypeVar("T")
IdArgument = Annotated[
    int, typer.Argument(help="The campaign's id (see `rapport campaign list`).")
]


@contextlib.asynccontextmanager
async def _tools(settings: Settings) -> AsyncIterator[CampaignTools]:
    from bot.app.bootstrap import build_language
    from bot.app.playbook_file import PlaybookError
    from bot.app.policies import policies
    from bot.core.clock import SystemClock

    try:
        bundle = policies(settings)
    except (PlaybookError, ValueError) as exc:
        fail(f"settings: {exc}")
    renderer, _faq = build_language(settings)
    async with database(settings, cipher(settings)) as (_engine, uow):
        yield CampaignTools(uow, renderer, bundle, SystemClock())


def _run(call: Callable[[CampaignTools], Awaitable[T]]) -> T:
    """Runs one use case against the configured database; a refusal ends the command."""
    settings = load_settings()

    async def work() -> T:
        async with _tools(settings) as tools:
            return await call(tools)

    try:
        return asyncio.run(work())
    except CampaignError as exc:
        fail(str(exc))


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def campaign_json(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.spec.name,
        "state": campaign.state.value,
        "created_at": _iso(campaign.created_at),
        "created_by": campaign.created_by,
        "next_run_at": _iso(campaign.next_run_at),
        "run": campaign.run,
        "seed": campaign.seed,
        "spec": spec_data(campaign.spec),
    }


def _echo_json(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False))


@app.command("create")
def create(
    file: Annotated[
        Path, typer.Option("--file", help="The campaign file (YAML; see docs/campaigns.md).")
    ],
    by: Annotated[
        str, typer.Option("--by", help="Who creates it (kept with the campaign).")
    ] = "cli",
    as_json: JsonOption = False,
) -> None:
    """Create a draft campaign from a file; `schedule` makes it go."""
    from bot.app.campaign_file import CampaignFileError, load_campaign
    from bot.app.playbook_file import template_keys
    from scripts_i18n import ROOT

    settings = load_settings()
    try:
        spec = load_campaign(file, template_keys(ROOT, LOCALES), settings.default_locale)
    except CampaignFileError as exc:
        fail(f"the campaign file has problems:\n{exc}")
    campaign = _run(lambda tools: service.create(tools, spec, by))
    if as_json:
        _echo_json(campaign_json(campaign))
        return
    typer.echo(f"campaign {campaign.id} {campaign.spec.name!r} created as a draft")


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """Every campaign, newest first, with its state and progress."""
    found = _run(service.list_campaigns)
    if as_json:
        _echo_json([{**campaign_json(c), "progress": p} for c, p in found])
        return
    if not found:
        typer.echo("no campaigns yet")
    for campaign, progress in found:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(progress.items())) or "no recipients yet"
        typer.echo(
            f"{campaign.id:>4}  {campaign.state.value:<9}  {campaign.spec.name}  ({counts})"
        )


@app.command("show")
def show(campaign_id: IdArgument, as_json: JsonOption = False) -> None:
    """The campaign: its audience size now, its state and its progress."""
    found = _run(lambda tools: service.overview(tools, campaign_id))
    data = {
        **campaign_json(found.campaign),
        "audience_now": {
            "total": found.audience.total,
            "by_locale": found.audience.by_locale,
            "holdout": found.audience.holdout,
        },
        "progress": found.progress,
        "in_outbox": found.in_outbox,
    }
    if as_json:
        _echo_json(data)
        return
    c = found.campaign
    typer.echo(f"campaign {c.id} {c.spec.name!r}: {c.state.value}, run {c.run}")
    if c.next_run_at is not None:
        typer.echo(f"  next run: {c.next_run_at.isoformat()}")
    locales = ", ".join(f"{k} {v}" for k, v in sorted(found.audience.by_locale.items()))
    typer.echo(
        f"  audience now: {found.audience.total} ({locales or 'nobody'}); "
        f"holdout {found.audience.holdout}"
    )
    progress = ", ".join(f"{k} {v}" for k, v in sorted(found.progress.items()))
    typer.echo(f"  progress: {progress or 'not started'}; {found.in_outbox} waiting in the outbox")


@app.command("preview")
def preview(campaign_id: IdArgument, as_json: JsonOption = False) -> None:
    """The message as a customer of each locale would get it, with its buttons."""
    shown = _run(lambda tools: service.preview(tools, campaign_id))
    data: list[dict[str, Any]] = [
        {
            "locale": p.locale,
            "sample": p.sample,
            "text": p.message.text,
            "buttons": [
                [
                    {"text": b.text, "url": b.url} if b.url else {"text": b.text, "data": b.data}
                    for b in row
                ]
                for row in p.message.buttons
            ],
        }
        for p in shown
    ]
    if as_json:
        _echo_json(data)
        return
    for item in data:
        typer.echo(f"--- {item['locale']} (for {item['sample']})")
        typer.echo(item["text"])
        for row in item["buttons"]:
            typer.echo(
                "  "
                + "  ".join(f"[{b['text']}{' → ' + b['url'] if 'url' in b else ''}]" for b in row)
            )


@app.command("test")
def test(
    campaign_id: IdArgument,
    to: Annotated[int, typer.Option("--to", help="The staff member's Telegram user id.")],
    as_json: JsonOption = False,
) -> None:
    """Send the message, in each of its locales, to one staff member only (through the
    outbox: the running bot delivers it)."""
    rows = _run(lambda tools: service.test_send(tools, campaign_id, to))
    if as_json:
        _echo_json({"campaign": campaign_id, "to": to, "outbox_rows": rows})
        return
    typer.echo(f"{len(rows)} test message(s) queued for staff member {to}")


def _change(campaign_id: int, action: Action, as_json: bool) -> None:
    campaign = _run(lambda tools: service.change(tools, campaign_id, action))
    if as_json:
        _echo_json(campaign_json(campaign))
        return
    when = f" (next run {campaign.next_run_at.isoformat()})" if campaign.next_run_at else ""
    typer.echo(f"campaign {campaign_id}: {campaign.state.value}{when}")


@app.command("schedule")
def schedule(campaign_id: IdArgument, as_json: JsonOption = False) -> None:
    """Make a draft due: now, at its time, or at its cron expression's moments."""
    _change(campaign_id, Action.SCHEDULE, as_json)


@app.command("pause")
def pause(campaign_id: IdArgument, as_json: JsonOption = False) -> None:
    """Stop queuing its messages; the recipients not reached yet wait."""
    _change(campaign_id, Action.PAUSE, as_json)


@app.command("resume")
def resume(campaign_id: IdArgument, as_json: JsonOption = False) -> None:
    """Carry on after a pause."""
    _change(campaign_id, Action.RESUME, as_json)


@app.command("cancel")
def cancel(campaign_id: IdArgument, as_json: JsonOption = False) -> None:
    """End it: the recipients not reached yet are skipped."""
    _change(campaign_id, Action.CANCEL, as_json)


def _interval(found: Interval | None, scale: float = 1.0) -> dict[str, float] | None:
    if found is None:
        return None
    return {
        "estimate": found.estimate * scale,
        "low": found.low * scale,
        "high": found.high * scale,
    }


def _group_json(group: Group) -> dict[str, Any]:
    per_customer = group.revenue_per_customer
    return {
        "customers": group.customers,
        "converted": group.converted,
        "conversion": group.conversion,
        "revenue_per_customer": None if per_customer is None else per_customer / 100,
    }


def report_json(report: CampaignReport) -> dict[str, Any]:
    """The report as data; money in currency units (cents / 100)."""
    t, c = report.treated, report.control
    return {
        "audience": report.audience,
        "adds_up": report.adds_up,
        "holdout": report.holdout,
        "sent": report.sent,
        "failed": dict(report.failed),
        "blocked": dict(report.blocked),
        "skipped_consent": report.skipped_consent,
        "skipped_cap": report.skipped_cap,
        "unworded": report.unworded,
        "cancelled": report.cancelled,
        "waiting": report.waiting,
        "held_by_quiet_hours": report.held,
        "held_then_sent": report.held_sent,
        "coupons_issued": report.coupons_issued,
        "coupons_redeemed": report.coupons_redeemed,
        "window_days": report.window_days,
        "confidence": report.confidence,
        "recipients": _group_json(t),
        "holdout_group": _group_json(c),
        "conversion_uplift": _interval(report.conversion_uplift),
        "revenue_uplift_per_customer": _interval(report.revenue_uplift_cents, 0.01),
    }


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten(value, f"{name}."))
        else:
            rows.append((name, "" if value is None else value))
    return rows


@app.command("report")
def report(
    campaign_id: IdArgument,
    run: Annotated[
        int | None, typer.Option("--run", help="Only this run (recurring campaigns).")
    ] = None,
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print metric,value CSV rows.")] = False,
) -> None:
    """Sent, failed, blocked, skipped, holdout; coupons; conversion and revenue of the
    recipients against the holdout, with the uplift's confidence interval."""
    found = _run(lambda tools: service.report(tools, campaign_id, run))
    data = report_json(found)
    if as_json:
        _echo_json({"campaign": campaign_id, "run": run, **data})
        return
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["metric", "value"])
        writer.writerows(_flatten(data))
        typer.echo(out.getvalue(), nl=False)
        return
    for name, value in _flatten(data):
        typer.echo(f"{name}: {value}")
