"""Ticket rules: the state machine, reopening, escalation chain, severity steps."""

from __future__ import annotations

import pytest

from bot.core.tickets import (
    TRANSITIONS,
    Level,
    TicketError,
    TicketState,
    can_reopen,
    check_transition,
    next_level,
    raise_severity,
    starting_level,
    ticket_number,
)
from bot.core.triage import Severity
from tests.unit.test_sla import a_ticket


def test_the_lifecycle_runs_forward_only() -> None:
    ticket = a_ticket()
    for to in (
        TicketState.INVESTIGATING,
        TicketState.SOLUTION_PROPOSED,
        TicketState.RESOLVED,
        TicketState.CLOSED,
    ):
        check_transition(ticket, to, None)
        ticket.state = to
    with pytest.raises(TicketError, match="cannot go from closed"):
        check_transition(ticket, TicketState.INVESTIGATING, None)
    assert can_reopen(ticket)


def test_every_state_is_reachable_and_closed_is_final() -> None:
    reachable = {TicketState.RECEIVED}
    frontier = [TicketState.RECEIVED]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    assert reachable == set(TicketState)
    assert TRANSITIONS[TicketState.CLOSED] == frozenset()


def test_a_major_complaint_is_resolved_only_with_a_remediation_plan() -> None:
    ticket = a_ticket(Severity.MAJOR)
    with pytest.raises(TicketError, match="remediation plan"):
        check_transition(ticket, TicketState.RESOLVED, None)
    check_transition(ticket, TicketState.RESOLVED, "Recall batch 7; refund; retrain packing.")


def test_escalation_chain_and_major_start() -> None:
    assert starting_level(Severity.QUALITY) is Level.AGENT
    assert starting_level(Severity.MAJOR) is Level.SUPERVISOR
    assert next_level(Level.AGENT) is Level.SUPERVISOR
    assert next_level(Level.SUPERVISOR) is Level.MANAGER
    assert next_level(Level.MANAGER) is None


def test_severity_rises_one_step_and_stops_at_major() -> None:
    assert raise_severity(Severity.GENERAL) is Severity.QUALITY
    assert raise_severity(Severity.QUALITY) is Severity.MAJOR
    assert raise_severity(Severity.MAJOR) is Severity.MAJOR


def test_ticket_numbers_read_well() -> None:
    assert ticket_number(42) == "T-000042"
