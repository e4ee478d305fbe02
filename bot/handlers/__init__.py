"""Thin handlers, one module per intent, and ROUTING: the table every update goes through.

A handler is ``async def on_x(turn, deps) -> Sequence[Result]``: it reads the update, calls
one use case (which owns its unit of work), and says what to reply. Rules live in
``bot.core``; which handler runs is decided only by :data:`bot.handlers.routes.ROUTING`.
Handlers never call one another.
"""

from bot.handlers.routes import ROUTES, ROUTING

__all__ = ["ROUTES", "ROUTING"]
