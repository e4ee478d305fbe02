"""The bundle of collaborators every handler and service receives as an argument."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.policies import Policies
from bot.core.ports import (
    Clock,
    FaqMatcher,
    JobScheduler,
    Messenger,
    Renderer,
    Triager,
    UnitOfWorkFactory,
)


@dataclass(frozen=True, slots=True)
class Deps:
    """Built once by :mod:`bot.app.bootstrap` (or by a test from fakes) and passed down."""

    policies: Policies
    uow: UnitOfWorkFactory
    renderer: Renderer
    faq: FaqMatcher
    triage: Triager
    clock: Clock
    messenger: Messenger
    scheduler: JobScheduler | None = None
    """Timed jobs (the revisit after a resolution); None where nothing runs them (the
    command line, most tests): the periodic revisit sweep then catches up."""
