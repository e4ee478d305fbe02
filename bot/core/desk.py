"""The agent desk's record of who is talking to whom.

While a :class:`Takeover` exists for a customer's chat, the bot does not answer that customer
by itself: what they send is relayed to the agent, and what the agent sends back (in the
agent's own private chat with the bot: "direct mode") is relayed to them. Ending it
(`/release`, `/resolve`) hands the chat back to the bot; `/transfer` passes it to a colleague.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DESK_COMMANDS = frozenset({"note", "release", "resolve", "transfer"})
"""Commands an agent types in their private chat with the bot while working a ticket."""


@dataclass(slots=True)
class Takeover:
    customer_chat_id: int
    customer_id: int
    ticket_id: int
    agent_user_id: int
    started_at: datetime
