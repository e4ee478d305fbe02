"""``rapport staff …``: the roster of people who may act on the desk (admins' tool)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.app.cli.common import fail, load_settings
from bot.app.cli.records_common import database
from bot.core.clock import SystemClock
from bot.core.roles import ALLOWED, Role
from bot.core.services.staff import enroll, withdraw

app = typer.Typer(help="The staff roster (admins).", no_args_is_help=True)

RoleOption = Annotated[Role, typer.Option("--role", "-r", help="What this person may do.")]


@app.command("add")
def add(
    telegram_user_id: Annotated[int, typer.Argument(help="The person's Telegram user id.")],
    role: RoleOption,
    name: Annotated[str, typer.Option(help="How colleagues know them.")] = "",
) -> None:
    """Put a person on the roster (or change their role)."""
    if telegram_user_id <= 0:
        fail("a Telegram user id is a positive number (groups and channels are negative)")
    settings = load_settings()

    async def work() -> str:
        async with database(settings) as (_engine, factory), factory() as uow:
            member = await enroll(uow, telegram_user_id, name, role, SystemClock().now())
            await uow.commit()
        return f"{member.telegram_user_id} {member.name}: {member.role.value}"

    typer.echo(asyncio.run(work()))


@app.command("remove")
def remove(telegram_user_id: Annotated[int, typer.Argument(help="Telegram user id.")]) -> None:
    """Take a person off the roster; their audit trail is kept."""
    settings = load_settings()

    async def work() -> bool:
        async with database(settings) as (_engine, factory), factory() as uow:
            done = await withdraw(uow, telegram_user_id)
            await uow.commit()
        return done

    if not asyncio.run(work()):
        fail(f"{telegram_user_id} is not on the staff roster")
    typer.echo(f"{telegram_user_id} removed from the roster")


@app.command("list")
def list_members() -> None:
    """Everyone on the roster, with what their role allows."""
    settings = load_settings()

    async def work() -> list[str]:
        async with database(settings) as (_engine, factory), factory() as uow:
            members = await uow.staff.members()
        return [
            f"{m.telegram_user_id:>12}  {m.role.value:<10}  {m.name}"
            f"  ({', '.join(sorted(a.value for a in ALLOWED[m.role])) or 'command line only'})"
            for m in members
        ]

    lines = asyncio.run(work())
    typer.echo(
        "\n".join(lines)
        if lines
        else "The roster is empty: add someone with "
        "`rapport staff add <telegram_user_id> --role agent`."
    )
