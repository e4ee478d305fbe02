"""What the customer, import and tiers command groups share: the database, the key, the
policy, and ``--as-of``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal, overload

import typer

from bot.app.cli.common import fail
from bot.app.settings import Settings
from bot.core.tiers import TierPolicy
from storage.crypto import PersonalDataCipher, cipher_from_key

if TYPE_CHECKING:  # the database layer is imported when a command opens the database, so
    # commands that never do (`rapport triage`, `rapport faq`) start quickly
    from sqlalchemy.ext.asyncio import AsyncEngine

    from storage.uow import SqlUnitOfWorkFactory

AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Compute as of this UTC date or ISO 8601 time (default: now), for reproducible runs.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def parse_as_of(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--as-of {value!r} is not an ISO 8601 date or time")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def tier_policy(settings: Settings) -> TierPolicy:
    from bot.app.policies import tier_policy as of_settings

    try:
        return of_settings(settings)
    except ValueError as exc:
        fail(f"tier settings: {exc}")


@overload
def cipher(settings: Settings, *, required: Literal[True]) -> PersonalDataCipher: ...
@overload
def cipher(settings: Settings, *, required: bool = False) -> PersonalDataCipher | None: ...
def cipher(settings: Settings, *, required: bool = False) -> PersonalDataCipher | None:
    """The cipher of ``RAPPORT_ENCRYPTION_KEY``; with `required`, ends the command when the
    key is not set."""
    key = settings.encryption_key
    try:
        found = cipher_from_key(key.get_secret_value() if key else None)
    except ValueError as exc:
        fail(f"RAPPORT_ENCRYPTION_KEY: {exc}")
    if found is None and required:
        fail(
            "no encryption key: set RAPPORT_ENCRYPTION_KEY (make one with "
            "`rapport customer new-key`); rapport stores no personal data without it"
        )
    return found


@contextlib.asynccontextmanager
async def database(
    settings: Settings, personal: PersonalDataCipher | None = None
) -> AsyncIterator[tuple[AsyncEngine, SqlUnitOfWorkFactory]]:
    """The migrated database and a unit of work factory over it.

    With `personal`, the key is checked against the database's first
    (:func:`storage.key_check.verify_key`): a wrong key ends the command with one line, exit
    status 2, before anything is read or written."""
    from storage.engine import make_engine
    from storage.key_check import EncryptionKeyMismatch, verify_key
    from storage.migrate import upgrade
    from storage.uow import SqlUnitOfWorkFactory

    engine = make_engine(settings.database_url)
    try:
        await upgrade(settings.database_url, engine=engine)
        if personal is not None:
            try:
                await verify_key(engine, personal, datetime.now(UTC))
            except EncryptionKeyMismatch as exc:
                fail(str(exc))
        yield engine, SqlUnitOfWorkFactory.from_engine(engine, personal)
    finally:
        await engine.dispose()
