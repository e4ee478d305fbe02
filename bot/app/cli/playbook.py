"""``rapport playbook check [FILE]`` and ``rapport playbook preview`` (SPEC §8).

``check`` exits 0 when the file is valid, 1 with one ``file:line: message`` line per problem
otherwise (2, as every command, when it cannot run at all). Without FILE it checks the
deployment's playbook (``RAPPORT_PLAYBOOK_FILE``, or the shipped default).

``preview`` evaluates that playbook over the current database as of now (or ``--as-of``) and
shows, per rule, who would receive what (template, variant and why, locale, from when) and why
every other customer of the rule's audience is skipped. It sends and writes nothing.

``simulate --from DATE --to DATE`` runs the playbook once a day over that span on the current
database, carrying forward what it would have sent (:mod:`bot.core.engagement.simulate`), and
prints per rule what would be sent and skipped by reason, and the most marketing messages any
customer would get in any 7 days. It sends and writes nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.app.cli.common import fail, load_settings
from bot.app.cli.records_common import AsOfOption, JsonOption, cipher, database, parse_as_of
from bot.app.playbook_file import DEFAULT_PLAYBOOK, PlaybookError, load_playbook, template_keys
from bot.app.policies import engagement_policy
from bot.app.settings import LOCALES, Settings
from bot.core.engagement.evaluate import Context, RuleResult
from scripts_i18n import ROOT

app = typer.Typer(
    help="The engagement playbook: check it, preview it, simulate it.", no_args_is_help=True
)

#: Exit status of `check` for a file with problems.
INVALID = 1


def playbook_path(settings: Settings, given: Path | None = None) -> Path:
    if given is not None:
        return given
    return Path(settings.playbook_file) if settings.playbook_file else DEFAULT_PLAYBOOK


@app.command("check")
def check(
    file: Annotated[
        Path | None,
        typer.Argument(help="The playbook to check (default: the deployment's playbook)."),
    ] = None,
) -> None:
    """Validate a playbook: exit 0 if valid, 1 listing each problem as file:line: message."""
    path = playbook_path(load_settings(), file)
    try:
        playbook = load_playbook(path, template_keys(ROOT, LOCALES), LOCALES)
    except PlaybookError as exc:
        for issue in exc.issues:
            typer.echo(str(issue))
        raise typer.Exit(INVALID) from None
    typer.echo(f"{path}: {len(playbook.rules)} rules, valid")


def _rule_json(result: RuleResult) -> dict[str, Any]:
    return {
        "rule": result.rule_id,
        "kind": "marketing" if result.marketing else "service",
        "would_send": len(result.planned),
        "skipped_by_reason": dict(Counter(s.reason.value for s in result.skipped)),
        "not_due": result.not_due,
        "planned": [
            {
                "customer_id": p.customer_id,
                "key": p.key,
                "template": p.template,
                "locale": p.locale,
                "variant": p.variant.value,
                "variant_reason": p.variant_reason,
                "not_before": p.not_before.isoformat(),
                "held_by_quiet_hours": p.held,
                "task": p.task.value if p.task else None,
                "message_waits_for_staff": p.deferred,
                "coupon": None
                if p.coupon is None
                else {
                    "kind": p.coupon.kind.value,
                    "value": p.coupon.value,
                    "min_spend_cents": p.coupon.min_spend_cents,
                    "valid_days": p.coupon.valid_days,
                },
            }
            for p in result.planned
        ],
        "skipped": [
            {"customer_id": s.customer_id, "reason": s.reason.value, "period": s.period}
            for s in result.skipped
        ],
    }


def _print_rule(result: RuleResult) -> None:
    kind = "marketing" if result.marketing else "service"
    reasons = Counter(s.reason.value for s in result.skipped)
    why = ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items()))
    typer.echo(
        f"{result.rule_id} ({kind}): {len(result.planned)} would receive, "
        f"{len(result.skipped)} skipped{f' ({why})' if why else ''}, {result.not_due} not due"
    )
    for p in result.planned:
        when = p.not_before.strftime("%Y-%m-%d %H:%M UTC")
        held = ", held by quiet hours" if p.held else ""
        task = f", opens task {p.task.value}" if p.task else ""
        waits = " (suggested; sent only if staff choose so)" if p.deferred else ""
        typer.echo(
            f"  -> customer {p.customer_id}: {p.template}{waits} [{p.locale}] "
            f"variant {p.variant.value} ({p.variant_reason}) from {when}{held}{task}"
        )
    for s in result.skipped:
        typer.echo(f"  x  customer {s.customer_id}: {s.reason.value} ({s.period})")


@app.command("preview")
def preview(
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help="Only this rule (repeatable).")
    ] = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who would receive what on the next run, and why the rest of each audience is skipped.
    Sends nothing and writes nothing."""
    settings = load_settings()
    path = playbook_path(settings)
    try:
        policy = engagement_policy(settings)
    except PlaybookError as exc:
        fail(f"the playbook has problems (run `rapport playbook check`):\n{exc}")
    playbook = policy.playbook
    unknown = [r for r in rule or () if playbook.rule(r) is None]
    if unknown:
        known = ", ".join(r.id for r in playbook.rules)
        fail(f"no rule {', '.join(map(repr, unknown))} in {path}; rules: {known}")
    moment = parse_as_of(as_of)
    context = Context(
        locales=LOCALES,
        default_locale=settings.default_locale,
        default_timezone=settings.default_timezone,
    )
    personal = cipher(settings)  # without a key, birthdays stay unknown

    async def work() -> list[RuleResult]:
        from bot.core.services.engagement import preview as preview_playbook

        async with database(settings, personal) as (_engine, uow):
            return await preview_playbook(uow, playbook, moment, policy, context, rule or None)

    results = asyncio.run(work())
    if as_json:
        report = {
            "as_of": moment.isoformat(),
            "playbook": str(path),
            "rules": [_rule_json(r) for r in results],
        }
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    typer.echo(f"playbook {path}, as of {moment.isoformat()} (nothing is sent)")
    for result in results:
        _print_rule(result)


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)")


@app.command("simulate")
def simulate(
    start: Annotated[str, typer.Option("--from", help="First simulated day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last simulated day (YYYY-MM-DD).")],
    run_at: Annotated[
        str, typer.Option("--at", help="UTC time of each day's simulated run (HH:MM).")
    ] = "10:00",
    as_json: JsonOption = False,
) -> None:
    """Run the playbook once a day over a span of simulated days on the current database:
    what each rule would send, who it would skip and why, and the most marketing messages any
    customer would get in 7 days. Sends nothing and writes nothing."""
    from bot.app.bootstrap import build_language
    from bot.app.policies import clock_time, tier_policy
    from bot.core.services.engagement import simulate_playbook

    settings = load_settings()
    first, last = _day(start, "--from"), _day(end, "--to")
    if last < first:
        fail(f"--to {end} is before --from {start}")
    try:
        at: time = clock_time(run_at)
    except ValueError:
        fail(f"--at {run_at!r} is not a time of day (HH:MM)")
    try:
        policy = engagement_policy(settings)
        tiers = tier_policy(settings)
    except PlaybookError as exc:
        fail(f"the playbook has problems (run `rapport playbook check`):\n{exc}")
    except ValueError as exc:
        fail(f"tier settings: {exc}")
    context = Context(
        locales=LOCALES,
        default_locale=settings.default_locale,
        default_timezone=settings.default_timezone,
    )
    renderer, _faq = build_language(settings)
    personal = cipher(settings)  # without a key, birthdays stay unknown

    async def work() -> dict[str, Any]:
        async with database(settings, personal) as (_engine, uow):
            result = await simulate_playbook(
                uow,
                policy.playbook,
                (first, last),
                policy=policy,
                context=context,
                tier_policy=tiers,
                run_at=at,
                renderer=renderer,
            )
        return result.as_json()

    report = asyncio.run(work())
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    typer.echo(
        f"playbook {playbook_path(settings)} simulated from {first} to {last}, daily at "
        f"{at.strftime('%H:%M')} UTC, over {report['customers']} customers (nothing is sent)"
    )
    rules: dict[str, dict[str, Any]] = report["rules"]
    for rule_id, tally in rules.items():
        why = ", ".join(f"{reason} {n}" for reason, n in tally["skipped"].items())
        typer.echo(f"{rule_id} ({tally['kind']}): {tally['sent']} sent; skipped: {why or 'none'}")
    typer.echo(
        f"most marketing messages to one customer in 7 days: {report['max_marketing_in_7_days']}"
    )
