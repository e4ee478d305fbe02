"""The ``rapport`` command line; see :mod:`bot.app.cli.app`."""

from bot.app.cli.app import app

__all__ = ["app"]
