"""Ratings and revisits in the real database: one rating per ticket, comments kept once,
revisits claimed once however many runs race, and satisfaction in the report CLI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from bot.app.cli import app
from bot.core.ratings import Rating, RevisitAnswer
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.tables import TicketRatingRow
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.integration.test_tickets_storage import T0, a_customer, a_ticket


@pytest.fixture
async def uow(database_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    url = database_url
    engine = make_engine(url)
    await upgrade(url, engine=engine)
    yield SqlUnitOfWorkFactory.from_engine(engine)
    await engine.dispose()


async def a_ticket_id(uow: SqlUnitOfWorkFactory) -> tuple[int, int]:
    customer_id = await a_customer(uow)
    async with uow() as work:
        ticket = await work.tickets.add(a_ticket(customer_id))
        await work.commit()
    assert ticket.id is not None
    return ticket.id, customer_id


async def test_a_ticket_has_one_rating_and_one_comment(uow: SqlUnitOfWorkFactory) -> None:
    ticket_id, customer_id = await a_ticket_id(uow)
    async with uow() as work:
        assert await work.ratings.add(Rating(ticket_id, customer_id, 4, T0))
        assert not await work.ratings.add(Rating(ticket_id, customer_id, 1, T0))
        assert await work.ratings.set_comment(ticket_id, "quick and kind 谢谢")
        assert not await work.ratings.set_comment(ticket_id, "changed my mind")
        await work.commit()
    async with uow() as work:
        stored = await work.ratings.get(ticket_id)
        in_month = await work.ratings.for_tickets_created_between(T0, T0 + timedelta(days=1))
        later = await work.ratings.for_tickets_created_between(
            T0 + timedelta(days=1), T0 + timedelta(days=2)
        )
    assert stored is not None and (stored.score, stored.comment) == (4, "quick and kind 谢谢")
    assert stored.rated_at == T0 and stored.customer_id == customer_id
    assert [r.ticket_id for r in in_month] == [ticket_id] and later == []


async def test_the_table_itself_refuses_a_second_rating(uow: SqlUnitOfWorkFactory) -> None:
    ticket_id, customer_id = await a_ticket_id(uow)
    with pytest.raises(IntegrityError):
        async with uow() as work:
            assert isinstance(work, SqlUnitOfWork)
            for score in (5, 1):
                work.session.add(
                    TicketRatingRow(
                        ticket_id=ticket_id, customer_id=customer_id, score=score, rated_at=T0
                    )
                )
            await work.session.flush()


async def test_concurrent_ratings_store_one(uow: SqlUnitOfWorkFactory) -> None:
    ticket_id, customer_id = await a_ticket_id(uow)

    async def rate(score: int) -> bool:
        async with uow() as work:
            stored = await work.ratings.add(Rating(ticket_id, customer_id, score, T0))
            await work.commit()
            return stored

    results = await asyncio.gather(*(rate(s) for s in (1, 2, 3, 4, 5)))
    assert sorted(results) == [False, False, False, False, True]


async def test_a_revisit_is_claimed_once_and_answered_once(uow: SqlUnitOfWorkFactory) -> None:
    ticket_id, customer_id = await a_ticket_id(uow)
    due = T0 + timedelta(days=7)
    async with uow() as work:
        await work.ratings.plan_revisit(ticket_id, customer_id, due)
        assert not await work.ratings.claim_revisit(ticket_id, due - timedelta(seconds=1))
        assert not await work.ratings.answer_revisit(ticket_id, RevisitAnswer.ALL_GOOD, due)
        assert await work.ratings.due_revisits(due) == [ticket_id]
        await work.commit()

    async def claim() -> bool:
        async with uow() as work:
            won = await work.ratings.claim_revisit(ticket_id, due)
            await work.commit()
            return won

    assert sorted(await asyncio.gather(*(claim() for _ in range(5)))) == [False] * 4 + [True]
    async with uow() as work:
        assert await work.ratings.due_revisits(due) == []
        assert await work.ratings.answer_revisit(ticket_id, RevisitAnswer.PROBLEM, due)
        assert not await work.ratings.answer_revisit(ticket_id, RevisitAnswer.ALL_GOOD, due)
        revisit = await work.ratings.get_revisit(ticket_id)
        assert revisit is not None and revisit.answer is RevisitAnswer.PROBLEM
        await work.ratings.plan_revisit(ticket_id, customer_id, due + timedelta(days=3))
        await work.commit()
    async with uow() as work:
        again = await work.ratings.get_revisit(ticket_id)
    assert again is not None and again.sent_at is None and again.answer is None  # a new round


def test_the_monthly_report_shows_satisfaction(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = database_url

    async def seed() -> None:
        engine = make_engine(url)
        await upgrade(url, engine=engine)
        factory = SqlUnitOfWorkFactory.from_engine(engine)
        customer_id = await a_customer(factory)
        async with factory() as work:
            for score in (5, 2):
                ticket = await work.tickets.add(a_ticket(customer_id))
                assert ticket.id is not None
                await work.ratings.add(Rating(ticket.id, customer_id, score, T0))
            await work.commit()
        await engine.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    result = CliRunner().invoke(app, ["report", "complaints", "--month", "2026-11", "--csv"])
    assert result.exit_code == 0, result.output
    assert "satisfaction: ratings,2" in result.output
    assert "satisfaction: average score,3.50" in result.output
    assert "satisfaction: rated 4–5,50% (1/2)" in result.output
    assert "satisfaction: rated low (reopened),1" in result.output
