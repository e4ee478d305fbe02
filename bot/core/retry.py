"""Trying a step again while it fails: the one retry loop of the bot.

A busy database (another process holding SQLite's write lock, a PostgreSQL failover) delays
work, it never drops it. Handling an update, recording what became of outbox sends and
registering the periodic jobs all go through :func:`retrying`, with the waits of a
:class:`~bot.core.policies.HandlingPolicy` (doubling from ``retry_initial_seconds`` up to
``retry_max_seconds``) and at most ``attempts`` tries; the last failure is raised to the
caller, which knows what it means (an update left in the inbox, a bot that cannot start).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.core.policies import HandlingPolicy

log = logging.getLogger(__name__)

T = TypeVar("T")


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    policy: HandlingPolicy,
    sleep: Callable[[float], Awaitable[object]],
    what: str,
) -> T:
    """`attempt()`'s result, tried again after each failure with the policy's growing waits
    (slept with `sleep`: the clock's, so tests on a virtual clock do not wait); after
    ``policy.attempts`` failures the last one is raised. `what` names the step in the log
    (never personal data)."""
    failures = 0
    while True:
        try:
            return await attempt()
        except Exception as exc:
            failures += 1
            if failures >= policy.attempts:
                raise
            wait = policy.wait(failures)
            log.warning(
                "%s failed (%s, attempt %d); trying again in %.1f s",
                what,
                type(exc).__name__,
                failures,
                wait,
            )
            await sleep(wait)
