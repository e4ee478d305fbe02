"""The composition root: the one place where concrete storage, renderer, FAQ index and clock
are built from :class:`~bot.app.settings.Settings` and wired to the core's ports.

:mod:`bot.app.runner` calls :func:`build_services` once at start-up, builds the adapter (which
makes its messenger) and the scheduler, and calls :func:`make_deps`; tests do the same with
fakes instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app.faq_data import load_faq
from bot.app.i18n import SCRIPTS_DIR, Renderer, build_renderer
from bot.app.policies import policies
from bot.app.settings import LOCALES, Settings
from bot.app.understanding import build_faq_index
from bot.app.understanding import build_triage as build_understanding_triage
from bot.core.clock import SystemClock
from bot.core.commands import menus
from bot.core.deps import Deps
from bot.core.faq import FaqIndex
from bot.core.outbox import OutboxPolicy
from bot.core.ports import Clock, JobScheduler, Messenger
from bot.core.triage import Triage
from storage.crypto import PersonalDataCipher, cipher_from_key
from storage.engine import make_engine
from storage.key_check import verify_key
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory, make_sessionmaker

log = logging.getLogger(__name__)


def personal_data_cipher(settings: Settings) -> PersonalDataCipher | None:
    """The cipher for personal data at rest, None without ``RAPPORT_ENCRYPTION_KEY``."""
    key = settings.encryption_key
    return cipher_from_key(key.get_secret_value() if key else None)


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the bot needs except the framework-specific messenger."""

    settings: Settings
    engine: AsyncEngine
    uow: SqlUnitOfWorkFactory
    renderer: Renderer
    faq: FaqIndex
    triage: Triage
    clock: Clock

    async def close(self) -> None:
        await self.engine.dispose()


def build_language(settings: Settings, scripts: Path = SCRIPTS_DIR) -> tuple[Renderer, FaqIndex]:
    """Loads templates and the FAQ from `scripts` (``scripts_i18n/``) for every locale."""
    entries = load_faq(scripts, LOCALES)
    renderer = build_renderer(scripts, LOCALES, entries, {"business_name": settings.business_name})
    return renderer, build_faq_index(settings, scripts, entries=entries)


def build_triage(settings: Settings, scripts: Path = SCRIPTS_DIR) -> Triage:
    """Loads the triage lexicons (``scripts_i18n/<locale>/triage.yaml``) and the learned model
    (``scripts_i18n/models/triage.npz``) once."""
    return build_understanding_triage(settings, scripts)


async def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Migrates the database to the newest schema and builds the services.

    Raises :class:`storage.key_check.EncryptionKeyMismatch` (one line, no secret) when
    ``RAPPORT_ENCRYPTION_KEY`` is not the key the database's personal data is written with."""
    engine = make_engine(settings.database_url)
    await upgrade(settings.database_url, engine=engine)
    clock = clock or SystemClock()
    personal = personal_data_cipher(settings)
    if personal is not None:
        try:
            await verify_key(engine, personal, clock.now())
        except BaseException:
            await engine.dispose()
            raise
    renderer, index = build_language(settings)
    log.info(
        "services ready: %d locales, database %s",
        len(renderer.locales),
        engine.url.render_as_string(hide_password=True),
    )
    return Services(
        settings=settings,
        engine=engine,
        uow=SqlUnitOfWorkFactory(make_sessionmaker(engine), personal),
        renderer=renderer,
        faq=index,
        triage=build_triage(settings),
        clock=clock,
    )


def make_deps(
    services: Services, messenger: Messenger, scheduler: JobScheduler | None = None
) -> Deps:
    return Deps(
        policies=policies(services.settings),
        uow=services.uow,
        renderer=services.renderer,
        faq=services.faq,
        triage=services.triage,
        clock=services.clock,
        messenger=messenger,
        scheduler=scheduler,
    )


def outbox_policy(settings: Settings) -> OutboxPolicy:
    return OutboxPolicy(
        batch_size=settings.outbox_paid_batch_size
        if settings.paid_broadcast
        else settings.outbox_batch_size,
        record_wait_seconds=settings.outbox_record_wait_seconds,
        poll_seconds=settings.outbox_poll_seconds,
        max_attempts=settings.outbox_max_attempts,
        backoff_initial_seconds=settings.outbox_backoff_initial_seconds,
        backoff_max_seconds=settings.outbox_backoff_max_seconds,
        claim_timeout_seconds=settings.outbox_claim_timeout_seconds,
    )


async def publish_menus(deps: Deps) -> None:
    """Sets the bot's command menu in every client language (done at each start)."""
    for code, commands in menus(
        deps.renderer.render, deps.renderer.locales, deps.policies.locale.default_locale
    ):
        await deps.messenger.set_commands(commands, code)
