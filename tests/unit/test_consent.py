"""Marketing consent rules (:mod:`bot.core.consent`): what counts as opted out, and when a
decision is worth a log entry."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.consent import ConsentSource, ConsentState, import_may_set, needs_change, opted_out

AT = datetime(2026, 12, 1, tzinfo=UTC)


def test_never_asked_is_not_opted_out() -> None:
    assert not opted_out(ConsentState())
    assert opted_out(ConsentState(False, AT))
    assert not opted_out(ConsentState(True, AT))


def test_only_a_change_is_recorded() -> None:
    assert needs_change(ConsentState(), False)  # a first "no" is recorded: /start can undo it
    assert needs_change(ConsentState(), True)
    assert not needs_change(ConsentState(False, AT), False)  # the button pressed twice
    assert needs_change(ConsentState(False, AT), True)
    assert not needs_change(ConsentState(True, AT), True)


def test_a_customer_file_never_undoes_the_customers_own_no() -> None:
    no_from_chat = ConsentState(False, AT)
    assert not import_may_set(no_from_chat, ConsentSource.STOP, True)
    assert not import_may_set(no_from_chat, ConsentSource.BUTTON, True)
    assert import_may_set(no_from_chat, ConsentSource.IMPORT, True)  # the shop's own "no"
    assert import_may_set(ConsentState(True, AT), ConsentSource.START, False)  # withdrawing
    assert import_may_set(ConsentState(), None, True)
    assert not import_may_set(ConsentState(True, AT), ConsentSource.IMPORT, True)
