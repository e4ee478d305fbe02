"""Conversions between table rows and the core's dataclasses.

The core never sees a row: repositories call these functions at the boundary. Enums travel
as their string values; a value the current code does not know (a row written by a newer
version) raises ``ValueError`` rather than being silently mangled.
"""

from __future__ import annotations

from typing import Any

from bot.core.models import (
    Conversation,
    Customer,
    Direction,
    LoggedMessage,
    Reachability,
    RequestReason,
    RequestStatus,
    SupportRequest,
)
from storage.tables import (
    ConversationRow,
    CustomerRow,
    MessageLogRow,
    StorageModel,
    SupportRequestRow,
)


def customer_from_row(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        telegram_user_id=row.telegram_user_id,
        chat_id=row.chat_id,
        display_name=row.display_name,
        first_name=row.first_name,
        username=row.username,
        language=row.language,
        language_code=row.language_code,
        timezone=row.timezone,
        reachability=Reachability(row.reachability),
        created_at=row.created_at,
        updated_at=row.updated_at,
        customer_ref=row.customer_ref,
    )


def customer_values(customer: Customer) -> dict[str, Any]:
    """The column values of `customer`, without its id: for ``CustomerRow(**values)`` or
    :func:`assign`."""
    return {
        "telegram_user_id": customer.telegram_user_id,
        "chat_id": customer.chat_id,
        "display_name": customer.display_name,
        "first_name": customer.first_name,
        "username": customer.username,
        "language": customer.language,
        "language_code": customer.language_code,
        "timezone": customer.timezone,
        "reachability": Reachability(customer.reachability).value,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "customer_ref": customer.customer_ref,
    }


def message_from_row(row: MessageLogRow) -> LoggedMessage:
    return LoggedMessage(
        id=row.id,
        direction=Direction(row.direction),
        chat_id=row.chat_id,
        at=row.at,
        text=row.text,
        telegram_message_id=row.telegram_message_id,
        update_id=row.update_id,
        customer_id=row.customer_id,
        template_key=row.template_key,
        content=row.content,
        handled_at=row.handled_at,
    )


def message_to_row(entry: LoggedMessage) -> MessageLogRow:
    """A new row for `entry`; its `id` is ignored (the database assigns one)."""
    return MessageLogRow(
        direction=Direction(entry.direction).value,
        chat_id=entry.chat_id,
        at=entry.at,
        text=entry.text,
        telegram_message_id=entry.telegram_message_id,
        update_id=entry.update_id,
        customer_id=entry.customer_id,
        template_key=entry.template_key,
        content=entry.content,
        handled_at=entry.handled_at,
    )


def conversation_from_row(row: ConversationRow) -> Conversation:
    return Conversation(
        chat_id=row.chat_id,
        flow=row.flow,
        step=row.step,
        data=dict(row.data),
        updated_at=row.updated_at,
    )


def conversation_values(conversation: Conversation) -> dict[str, Any]:
    """The column values of `conversation`. ``data`` is copied into a new dict, so assigning
    it is seen as a change (a plain JSON column does not track in-place mutation) and the
    caller's dict stays theirs."""
    return {
        "chat_id": conversation.chat_id,
        "flow": conversation.flow,
        "step": conversation.step,
        "data": dict(conversation.data),
        "updated_at": conversation.updated_at,
    }


def request_from_row(row: SupportRequestRow) -> SupportRequest:
    return SupportRequest(
        id=row.id,
        customer_id=row.customer_id,
        chat_id=row.chat_id,
        text=row.text,
        reason=RequestReason(row.reason),
        status=RequestStatus(row.status),
        created_at=row.created_at,
        due_at=row.due_at,
    )


def request_to_row(request: SupportRequest) -> SupportRequestRow:
    """A new row for `request`; its `id` is ignored (the database assigns one)."""
    return SupportRequestRow(
        customer_id=request.customer_id,
        chat_id=request.chat_id,
        text=request.text,
        reason=RequestReason(request.reason).value,
        status=RequestStatus(request.status).value,
        created_at=request.created_at,
        due_at=request.due_at,
    )


def assign(row: StorageModel, values: dict[str, Any]) -> None:
    """Overwrite attributes of a loaded `row` (the session notices and flushes them)."""
    for name, value in values.items():
        setattr(row, name, value)
