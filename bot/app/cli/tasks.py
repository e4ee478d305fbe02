"""``rapport tasks list``: the staff tasks the playbook opened (:mod:`bot.core.staff_tasks`) —
advisors' monthly check-ins, call-backs after an unhappy customer's win-back, survey
follow-ups — and what became of each: open, or done / skipped with the choice, who made it
(a staff Telegram user id) and when. Customers appear by id only: no names or contact data.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from bot.app.cli.common import load_settings
from bot.app.cli.records_common import JsonOption, database
from bot.core.staff_tasks import StaffTask

app = typer.Typer(
    help="Staff tasks: advisors' check-ins, call-backs, follow-ups.", no_args_is_help=True
)


@app.callback()
def _group() -> None:
    """Staff tasks: advisors' check-ins, call-backs, follow-ups. (A group of one command, so
    that it reads ``rapport tasks list``.)"""


@app.command("list")
def list_tasks(
    open_only: Annotated[
        bool, typer.Option("--open", help="Only tasks nobody has settled yet.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 500,
    as_json: JsonOption = False,
) -> None:
    """Staff tasks, newest first: kind, customer id, to whom, state, and the choice made."""
    settings = load_settings()

    async def work() -> list[StaffTask]:
        async with database(settings) as (_engine, uow_factory), uow_factory() as uow:
            return await uow.tasks.listing(open_only=open_only, limit=limit)

    tasks = asyncio.run(work())
    if as_json:
        typer.echo(json.dumps([task_json(t) for t in tasks]))
        return
    if not tasks:
        typer.echo("no open staff tasks" if open_only else "no staff tasks")
    for t in tasks:
        to = f"staff {t.assignee}" if t.assignee is not None else f"chat {t.chat_id}"
        settled = (
            f"{t.state.value}: {t.choice.value if t.choice else '-'} by {t.acted_by} "
            f"at {t.acted_at:%Y-%m-%d %H:%M} UTC"
            if t.acted_at is not None
            else t.state.value
        )
        typer.echo(
            f"#{t.id} {t.opened_at:%Y-%m-%d %H:%M} {t.kind.value:15} customer {t.customer_id} "
            f"-> {to} [{settled}] {t.reason}"
        )


def task_json(task: StaffTask) -> dict[str, object]:
    return {
        "id": task.id,
        "kind": task.kind.value,
        "customer_id": task.customer_id,
        "period": task.period,
        "assignee": task.assignee,
        "chat_id": task.chat_id,
        "rule": task.rule_id,
        "reason": task.reason,
        "state": task.state.value,
        "choice": task.choice.value if task.choice else None,
        "acted_by": task.acted_by,
        "opened_at": task.opened_at.isoformat(),
        "acted_at": task.acted_at.isoformat() if task.acted_at else None,
    }
