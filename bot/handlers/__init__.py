"""Thin handlers, one module per intent, and ROUTES: the table both adapters register.

A handler is ``async def on_x(turn, deps) -> Sequence[Reply | CallbackAnswer]``: it reads
the update, calls one service, and says what to reply. Rules live in ``bot.core``.
"""

from bot.handlers.routes import (
    ROUTES,
    AnyCommand,
    AnyMessage,
    AnyText,
    Callback,
    Command,
    Contact,
    EditedMessage,
    Route,
    TopicMessage,
)

__all__ = [
    "ROUTES",
    "AnyCommand",
    "AnyMessage",
    "AnyText",
    "Callback",
    "Command",
    "Contact",
    "EditedMessage",
    "Route",
    "TopicMessage",
]
