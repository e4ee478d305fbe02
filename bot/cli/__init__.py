"""The ``rapport`` command line; see :mod:`bot.cli.app`."""

from bot.cli.app import app

__all__ = ["app"]
