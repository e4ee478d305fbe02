"""Keeping the garbage collector off the sender's hot path.

aiogram parses each answer with ``Response[<result type>]``; pydantic keeps those parametrised
models in a weak cache, so the adapter holds them (a collection would otherwise drop them and
the next answer would build the model again, ~20 ms of CPU each). And once the bot runs, the
start-up heap is frozen, so a full collection does not walk it again."""

from __future__ import annotations

import gc
import weakref

from aiogram.methods import Response

from bot.adapters.aiogram.messenger import METHODS_CALLED, RESPONSE_MODELS


def test_the_response_models_of_the_methods_called_survive_a_collection() -> None:
    for method in METHODS_CALLED:
        model = weakref.ref(Response[method.__returning__])  # type: ignore[name-defined]
        gc.collect()
        assert model() is not None, method.__name__
        assert model() is Response[method.__returning__]  # type: ignore[name-defined]
    assert len(RESPONSE_MODELS) == len(METHODS_CALLED)


def test_the_start_up_heap_is_frozen_once_the_bot_runs() -> None:
    from bot.app.runner import freeze_start_up_heap

    gc.unfreeze()
    try:
        freeze_start_up_heap()
        assert gc.get_freeze_count() > 0  # start-up's objects are out of the collector's way
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
