"""A local Telegram Bot API emulator for the demo, end-to-end tests and benchmarks.

Both aiogram and python-telegram-bot run unchanged against it (real long polling or webhook);
see :class:`~sandbox.emulator.Emulator`.
"""

from .emulator import Emulator, RecordedRequest
from .errors import ApiError
from .faults import Fault
from .limits import FloodLimits
from .state import SimChat, SimUser, Topic

__all__ = [
    "ApiError",
    "Emulator",
    "Fault",
    "FloodLimits",
    "RecordedRequest",
    "SimChat",
    "SimUser",
    "Topic",
]
