"""``rapport customer …``: one customer's standing, export, erasure, deep link and dedicated
advisor, and a new or rotated encryption key (SPEC §1, §2, §12)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.app.cli.common import fail, load_settings
from bot.app.cli.records_common import JsonOption, cipher, database
from bot.app.policies import loyalty_policy, policies
from bot.core.coupons import Coupon
from bot.core.engagement.playbook import CouponKind
from bot.core.loyalty import standing as loyalty_standing
from bot.core.records import PersonalDataError
from bot.core.services.advisors import AdvisorError, assign, unassign
from bot.core.services.linking import link_url
from storage.crypto import PersonalDataCipher, new_key

if TYPE_CHECKING:  # loaded when a command opens the database (see records_common)
    from storage.uow import SqlUnitOfWorkFactory

app = typer.Typer(help="One customer's record: show, export, forget, link.", no_args_is_help=True)

RefArgument = Annotated[str, typer.Argument(help="The shop's customer reference.")]


async def _customer_id(uow_factory: SqlUnitOfWorkFactory, ref: str) -> int:
    async with uow_factory() as uow:
        customer = await uow.records.get_by_ref(ref)
    if customer is None or customer.id is None:
        fail(f"no customer with reference {ref!r}")
    return customer.id


@app.command("show")
def show(ref: RefArgument, as_json: JsonOption = False) -> None:
    """R, F, M, scores, tier, segment, lifecycle stage and tags."""
    settings = load_settings()
    personal = cipher(settings)

    async def work() -> dict[str, Any]:
        async with database(settings, personal) as (_engine, uow_factory):
            cid = await _customer_id(uow_factory, ref)
            async with uow_factory() as uow:
                standing = await uow.tiers.standing(cid)
                profile = await uow.records.profile(cid)
                coupons = await uow.coupons.for_customer(cid)
                points = loyalty_standing(
                    await uow.loyalty.orders(cid),
                    await uow.loyalty.redemptions(cid),
                    datetime.now(UTC),
                    loyalty_policy(settings),
                )
        return {
            "customer_ref": ref,
            "recency_days": standing.recency_days if standing else None,
            "frequency": standing.frequency if standing else 0,
            "monetary": units(standing.monetary_cents if standing else 0),
            "r_score": standing.r_score if standing else None,
            "f_score": standing.f_score if standing else None,
            "m_score": standing.m_score if standing else None,
            "tier": standing.tier.value if standing else None,
            "segment": standing.segment.value if standing and standing.segment else None,
            "lifecycle": standing.lifecycle.value if standing else None,
            "as_of": standing.as_of.isoformat() if standing else None,
            "tags": list(profile.tags) if profile else [],
            "coupons": [coupon_json(c) for c in coupons],
            "points": {
                "balance": points.balance,
                "level": points.level.name,
                "window_points": points.window_points,
            },
        }

    try:
        data = asyncio.run(work())
    except PersonalDataError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
    else:
        for key, value in data.items():
            if key == "coupons":
                value = ", ".join(_coupon_line(c) for c in value) or "none"
            elif key == "points":
                value = (
                    f"{value['balance']} (level {value['level']}, "
                    f"{value['window_points']} in the level window)"
                )
            typer.echo(f"{key:14} {value}")


def _coupon_line(coupon: dict[str, Any]) -> str:
    redeemed = coupon["redeemed"]
    if redeemed:
        return f"{coupon['code']} (redeemed by order {redeemed['order_id']})"
    return f"{coupon['code']} (valid until {coupon['valid_until']})"


def units(cents: int) -> str:
    """Integer cents as currency units with two decimals, exactly (no float rounding)."""
    return f"{Decimal(cents) / 100:.2f}"


def coupon_json(coupon: Coupon) -> dict[str, Any]:
    """A coupon as ``customer show --json`` and ``customer export`` print it: amounts in
    currency units, times in ISO 8601, and the redemption (order and amount) or None."""
    fixed = coupon.kind is CouponKind.FIXED and coupon.value is not None
    redeemed = None
    if coupon.redeemed_at is not None:
        redeemed = {
            "order_id": coupon.redeemed_order_id,
            "amount": units(coupon.redeemed_amount_cents or 0),
            "at": coupon.redeemed_at.isoformat(),
        }
    return {
        "code": coupon.code,
        "kind": coupon.kind.value,
        "value": units(coupon.value or 0) if fixed else coupon.value,
        "currency": coupon.currency,
        "min_spend": units(coupon.min_spend_cents),
        "valid_from": coupon.valid_from.isoformat(),
        "valid_until": coupon.valid_until.isoformat(),
        "source": coupon.source.value,
        "source_ref": coupon.source_ref,
        "issued_at": coupon.issued_at.isoformat(),
        "redeemed": redeemed,
    }


@app.command("export")
def export(
    ref: RefArgument,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Everything held about the customer, decrypted, as JSON (SPEC §12)."""
    settings = load_settings()
    personal = cipher(settings)

    async def work() -> dict[str, Any]:
        async with database(settings, personal) as (_engine, uow_factory):
            cid = await _customer_id(uow_factory, ref)
            async with uow_factory() as uow:
                held = await uow.records.export(cid)
                coupons = await uow.coupons.for_customer(cid)
        # every field the repository gathers (tickets, their events, ratings, consent…):
        # a field added to CustomerExport is exported without touching this command
        return {**asdict(held), "coupons": [coupon_json(c) for c in coupons]}

    try:
        data = asyncio.run(work())
    except PersonalDataError as exc:
        fail(str(exc))
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


@app.command("forget")
def forget(
    ref: RefArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase the customer's personal data and message texts, and redact what the bot posted
    about them in staff chats; anonymous counts stay."""
    settings = load_settings()
    if not yes and not typer.confirm(f"Erase the personal data of customer {ref}?"):
        raise typer.Exit(1)

    async def work() -> int:
        from bot.app.i18n import SCRIPTS_DIR, build_renderer
        from bot.app.settings import LOCALES
        from bot.core.services.erasure import forget_customer
        from storage.engine import scrub

        renderer = build_renderer(
            SCRIPTS_DIR, LOCALES, [], {"business_name": settings.business_name}
        )
        async with database(settings) as (engine, uow_factory):
            cid = await _customer_id(uow_factory, ref)
            async with uow_factory() as uow:
                queued = await forget_customer(
                    uow, renderer, settings.staff_locale, cid, datetime.now(UTC)
                )
                await uow.commit()
            await scrub(engine)
        return queued

    queued = asyncio.run(work())
    typer.echo(f"customer {ref}: personal data and message texts erased")
    if queued:
        typer.echo(
            f"{queued} messages the bot posted about them in staff chats will be replaced by a "
            "notice as soon as the bot runs (see `rapport outbox status`)"
        )


@app.command("link-url")
def link(ref: RefArgument) -> None:
    """A signed, expiring t.me deep link that links the customer's Telegram chat."""
    settings = load_settings()
    personal = cipher(settings, required=True)  # links are signed with a key derived from it

    async def work() -> int:
        async with database(settings, personal) as (_engine, uow_factory):
            return await _customer_id(uow_factory, ref)

    cid = asyncio.run(work())
    typer.echo(link_url(policies(settings).linking, cid, datetime.now(UTC)))


@app.command("advisor")
def advisor(
    ref: RefArgument,
    staff_user_id: Annotated[
        int | None,
        typer.Argument(help="Telegram user id of the advisor (on the staff roster)."),
    ] = None,
    remove: Annotated[
        bool, typer.Option("--remove", help="Take the customer's dedicated advisor away.")
    ] = False,
) -> None:
    """Give the customer a dedicated advisor: their tickets reach the advisor first."""
    if remove == (staff_user_id is not None):
        fail("give either the advisor's Telegram user id or --remove")
    settings = load_settings()

    async def work() -> str:
        async with database(settings) as (_engine, uow_factory):
            cid = await _customer_id(uow_factory, ref)
            async with uow_factory() as uow:
                if staff_user_id is None:
                    had = await unassign(uow, cid)
                    await uow.commit()
                    return (
                        f"customer {ref}: dedicated advisor removed"
                        if had
                        else f"customer {ref} had no dedicated advisor"
                    )
                try:
                    member = await assign(uow, cid, staff_user_id)
                except AdvisorError as exc:
                    fail(f"{exc} (add them first with `rapport staff add`)")
                await uow.commit()
        return f"customer {ref}: dedicated advisor {member.telegram_user_id} {member.name}"

    typer.echo(asyncio.run(work()))


@app.command("new-key")
def key() -> None:
    """Print a fresh key for RAPPORT_ENCRYPTION_KEY (keep it secret and backed up)."""
    typer.echo(new_key())


@app.command("rotate-key")
def rotate(
    new: Annotated[
        str,
        typer.Option(
            "--new-key",
            envvar="RAPPORT_NEW_ENCRYPTION_KEY",
            show_envvar=True,
            help="The new key (from `rapport customer new-key`); prefer the environment "
            "variable, which stays out of the shell history.",
        ),
    ],
) -> None:
    """Re-encrypt all personal data under a new key (the old one from RAPPORT_ENCRYPTION_KEY).

    One transaction: on any error nothing changes. Stop the bot first, then start it with the
    new key; deep links signed with the old key stop working."""
    settings = load_settings()
    old = cipher(settings, required=True)
    try:
        fresh = PersonalDataCipher(new)
    except ValueError as exc:
        fail(f"--new-key: {exc}")

    async def work() -> str:
        from storage.key_check import rotate_key

        async with database(settings, old) as (engine, _uow):
            done = await rotate_key(engine, old, fresh, datetime.now(UTC))
        return (
            f"re-encrypted {done.values} values of {done.profiles} customers under the new key; "
            "set RAPPORT_ENCRYPTION_KEY to it before the bot starts again"
        )

    try:
        typer.echo(asyncio.run(work()))
    except PersonalDataError as exc:
        fail(f"{exc}; nothing was changed")
