"""A local Telegram Bot API emulator for the demo, end-to-end tests and benchmarks.

Both aiogram and python-telegram-bot run unchanged against it (real long polling or webhook);
see :class:`~sandbox.emulator.Emulator`. A :class:`~sandbox.clock.VirtualClock` shared with
the bot lets tests prove flood limits without waiting them out.
"""

from .clock import Clock, RealClock, VirtualClock
from .emulator import Emulator, RecordedRequest
from .errors import ApiError
from .faults import Fault
from .limits import FloodLimits
from .state import SimChat, SimUser, Topic
from .users import SimulatedUsers

__all__ = [
    "ApiError",
    "Clock",
    "Emulator",
    "Fault",
    "FloodLimits",
    "RealClock",
    "RecordedRequest",
    "SimChat",
    "SimUser",
    "SimulatedUsers",
    "Topic",
    "VirtualClock",
]
