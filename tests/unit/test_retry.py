"""The one retry loop (bot.core.retry): growing waits, a bounded number of tries, the last
failure raised."""

from __future__ import annotations

import pytest

from bot.core.policies import HandlingPolicy
from bot.core.retry import retrying

POLICY = HandlingPolicy(attempts=4, retry_initial_seconds=0.5, retry_max_seconds=1.5)


class Flaky:
    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError("database is locked")
        return "done"


async def test_a_step_that_fails_a_while_succeeds_after_growing_waits() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    step = Flaky(failures=3)
    assert await retrying(step, POLICY, sleep, "step") == "done"
    assert step.calls == 4
    assert waits == [0.5, 1.0, 1.5]  # doubling, capped at retry_max_seconds


async def test_the_last_failure_is_raised_after_the_policy_s_attempts() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    step = Flaky(failures=10)
    with pytest.raises(OSError, match="locked"):
        await retrying(step, POLICY, sleep, "step")
    assert step.calls == POLICY.attempts
    assert len(waits) == POLICY.attempts - 1
