"""The ``rapport`` command line; see :mod:`bot.app.cli.main`.

``app`` is loaded on first use (module ``__getattr__``), so importing one command's module
(``bot.app.cli.triage``) does not import every other command group with it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.app.cli.main import app

__all__ = ["app"]


def __getattr__(name: str) -> Any:
    if name == "app":
        from bot.app.cli.main import app

        return app
    raise AttributeError(name)
