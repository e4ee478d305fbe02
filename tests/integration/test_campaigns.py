"""Campaign delivery over the SQL storage (SQLite and PostgreSQL): the audience frozen once
per run, the engagement guards applied (consent, blocked, cap, quiet hours held), batches
that stop and carry on without ever writing a message twice, pause / resume / cancel, the
holdout recorded and never sent, recurring runs, and a report that adds up."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col

from bot.core.campaigns.model import (
    CANCELLED_REASON,
    Action,
    CampaignAudience,
    CampaignError,
    CampaignState,
    Combine,
    RecipientStatus,
    Schedule,
    ScheduleKind,
    in_holdout,
)
from bot.core.engagement.playbook import Audience, CouponKind, CouponSpec
from bot.core.messages import OutButton, Outgoing
from bot.core.models import Reachability
from bot.core.outbox_model import Lane, OutboxMessage, OutboxState
from bot.core.policies import CampaignPolicy
from bot.core.services import campaigns as service
from bot.core.services.campaigns import delivery
from bot.core.tiers import Tier
from storage.customers_import import import_orders_file
from storage.tables import CampaignRow
from tests.campaign_shop import NOW, Person, Shop, spring

EVERYONE = [
    Person("Mia"),
    Person("Lin", language="zh-Hans"),
    Person("Tom", language="zh-Hant"),  # no zh-Hant message: the default locale's
    Person("Opt", consent=False),
    Person("Blk", reachability=Reachability.BLOCKED),
    Person("Capped"),
    Person("Night", timezone="America/Los_Angeles"),  # 04:00 there: held until 09:00
    Person("Imp", linked=False),  # imported, no chat with the bot
    Person("Base", tier="base"),
]


async def shop_with(url: str, policy: CampaignPolicy | None = None) -> Shop:
    shop = await Shop(url, policy).open()
    await shop.add(*EVERYONE)
    # Capped had two playbook marketing messages this week: the cap (2 in 7 days) is full
    async with shop.uow() as work:
        for n in (1, 2):
            message = Outgoing(chat_id=1, text="x", about_customer_id=shop.ids["Capped"])
            key = f"engage:base-coupon:{shop.ids['Capped']}:2026-1{n}"
            at = NOW - timedelta(days=n)
            await work.outbox.enqueue(OutboxMessage(key, Lane.PROACTIVE, message, at, at))
        await work.commit()
    return shop


async def test_a_campaign_reaches_its_audience_once_through_the_guards(database_url: str) -> None:
    shop = await shop_with(database_url, CampaignPolicy(batch_size=2, queue_ahead=3))
    try:
        tools = shop.tools
        campaign = await service.create(tools, spring(), "test")
        assert campaign.state is CampaignState.DRAFT
        assert (await service.tick(tools)).started == []  # a draft never starts
        await service.change(tools, campaign.id or 0, Action.SCHEDULE)
        first = await service.tick(tools)
        assert first.started == [campaign.id]
        assert first.frozen[campaign.id or 0] == 8  # the mid tier, frozen once
        rows = await shop.outbox()
        assert len(rows) == 2  # at most queue_ahead, a whole batch at a time
        # a "restart": a new tick carries on only once the sender has made room
        assert (await service.tick(tools)).decided == Counter()
        while await shop.deliver_all():
            await service.tick(tools)
        shop.clock.advance(6 * 3600)  # 18:00 UTC: 10:00 in Los Angeles, the held one goes
        await shop.deliver_all()
        await service.tick(tools)
        rows = await shop.outbox()
        keys = [r.idempotency_key for r in rows]
        assert len(keys) == len(set(keys))
        by_customer = {r.about_customer_id: r for r in rows}
        ids = shop.ids
        assert set(by_customer) == {ids["Mia"], ids["Lin"], ids["Tom"], ids["Night"]}
        assert by_customer[ids["Mia"]].text == "Hello Mia, the spring teas are here."
        assert by_customer[ids["Lin"]].text == "Lin，您好！春茶到了。"
        assert by_customer[ids["Tom"]].text.startswith("Hello Tom")
        assert "optout:marketing" in by_customer[ids["Mia"]].buttons
        night = by_customer[ids["Night"]]
        assert night.not_before == NOW.replace(hour=17)  # 09:00 in Los Angeles
        stored = await service.overview(tools, campaign.id or 0)
        assert stored.campaign.state is CampaignState.DONE
        assert stored.progress == {"queued": 4, "no_consent": 1, "unreachable": 2, "cap": 1}

        report = await service.report(tools, campaign.id or 0)
        assert report.audience == 8 and report.adds_up
        assert (report.sent, report.skipped_consent, report.skipped_cap) == (4, 1, 1)
        assert report.blocked == Counter({"blocked": 1, "not_linked": 1})
        assert (report.held, report.held_sent, report.holdout, report.waiting) == (1, 1, 0, 0)
    finally:
        await shop.close()


async def test_telegram_refusals_are_counted_as_failed_or_blocked(database_url: str) -> None:
    shop = await shop_with(database_url)
    try:
        campaign = await service.create(shop.tools, spring(), "test")
        await service.change(shop.tools, campaign.id or 0, Action.SCHEDULE)
        await service.tick(shop.tools)
        await shop.deliver_all(OutboxState.SKIPPED, "Forbidden: bot was blocked by the user")
        report = await service.report(shop.tools, campaign.id or 0)
        assert report.blocked["Forbidden: bot was blocked by the user"] == 3
        assert report.waiting == 1 and report.adds_up  # Night: held until the morning
    finally:
        await shop.close()


async def _due(shop: Shop) -> list[str]:
    """The campaign rows a sender would claim now (the outbox's own ``due``)."""
    async with shop.uow() as work:
        due = await work.outbox.due(shop.clock.now(), shop.clock.now(), 100)
    return sorted(row.key for row in due if row.key.startswith("campaign:"))


async def test_pause_holds_even_what_is_queued_resume_releases_cancel_skips(
    database_url: str,
) -> None:
    """Mid-delivery: a pause holds the rows already in the outbox (no sender claims them)
    and decides nobody; resume lets them go and carries on; cancel skips the unsent rows
    and the pending recipients, all counted as cancelled, and the report still adds up."""
    policy = CampaignPolicy(batch_size=1, queue_ahead=3)
    shop = await shop_with(database_url, policy)
    try:
        tools = shop.tools
        coupon = CouponSpec(CouponKind.PERCENT, 10)
        campaign = await service.create(tools, spring(coupon=coupon), "test")
        cid = campaign.id or 0
        await service.change(tools, cid, Action.SCHEDULE)
        await service.tick(tools)
        queued = await _due(shop)
        assert len(queued) == 3  # Mia, Lin, Tom: queue_ahead
        async with shop.uow() as work:  # the sender sends Mia's
            [mia] = [r for r in await work.outbox.due(NOW, NOW, 100) if r.key == queued[0]]
            assert await work.outbox.claim_many([mia.id or 0], "s:1", NOW, None)
            await work.outbox.mark_sent(mia.id or 0, NOW, 77)
            await work.commit()

        await service.change(tools, cid, Action.PAUSE)
        assert await _due(shop) == []  # what waited in the outbox is held
        assert await shop.deliver_all() == 0
        assert (await service.tick(tools)).decided == Counter()
        shown = await service.overview(tools, cid)
        assert (shown.in_outbox, shown.progress["pending"]) == (2, 5)

        resumed = await service.change(tools, cid, Action.RESUME)
        assert resumed.state is CampaignState.RUNNING
        assert await _due(shop) == queued[1:]
        decided = (await service.tick(tools)).decided
        assert decided == Counter(no_consent=1, unreachable=1, cap=1, queued=1)  # Night, held

        assert (await service.report(tools, cid)).coupons_issued == 4  # one per message written
        await service.change(tools, cid, Action.CANCEL)
        assert await _due(shop) == []
        shop.clock.advance(6 * 3600)  # Night's morning: still nothing goes
        assert await _due(shop) == [] and await shop.deliver_all() == 0
        assert (await service.tick(tools)).decided == Counter()
        report = await service.report(tools, cid)
        assert (report.sent, report.cancelled, report.waiting) == (1, 4, 0)
        assert (report.skipped_consent, report.skipped_cap, sum(report.blocked.values())) == (
            1,
            1,
            1,
        )
        assert report.audience == 8 and report.adds_up
        assert report.coupons_issued == 1  # Mia's; the three held back were never offered
        rows = await shop.outbox()
        assert Counter((r.state, r.last_error) for r in rows) == {
            ("sent", None): 1,
            ("skipped", CANCELLED_REASON): 3,
        }
        with pytest.raises(CampaignError, match="cancelled"):
            await service.change(tools, cid, Action.RESUME)
    finally:
        await shop.close()


async def test_a_pause_racing_the_end_of_a_run_sees_the_end(database_url: str) -> None:
    """A run ends (``done``) in a transaction still open when marketing presses Pause: the
    pause waits for it and is then refused, rather than reading ``running`` and turning a
    finished campaign into a paused one."""
    shop = await shop_with(database_url)
    try:
        tools = shop.tools
        cid = (await service.create(tools, spring(), "test")).id or 0
        await service.change(tools, cid, Action.SCHEDULE)  # pause is allowed from here
        async with shop.uow() as ending:  # the run's end, not committed yet
            campaign = await ending.campaigns.get(cid)
            assert campaign is not None
            campaign.state = CampaignState.DONE
            await ending.campaigns.save(campaign)
            pausing = asyncio.create_task(service.change(tools, cid, Action.PAUSE))
            await asyncio.sleep(0.5)
            assert not pausing.done()  # it waits for the run's end
            await ending.commit()
        with pytest.raises(CampaignError, match="done"):
            await pausing
        async with shop.uow() as work:
            stored = await work.campaigns.get(cid)
        assert stored is not None and stored.state is CampaignState.DONE
    finally:
        await shop.close()


async def test_the_holdout_is_drawn_recorded_and_never_sent(database_url: str) -> None:
    shop = await Shop(database_url).open()
    try:
        await shop.add(*(Person(f"C{n}") for n in range(40)))
        campaign = await service.create(shop.tools, spring(holdout=0.5), "test")
        cid = campaign.id or 0
        size = await service.audience_size(shop.tools, campaign)
        await service.change(shop.tools, cid, Action.SCHEDULE)
        await service.tick(shop.tools)
        async with shop.uow() as work:
            rows = await work.campaigns.outcomes(cid)
        held_back = {r.customer_id for r in rows if r.holdout}
        assert len(held_back) == size.holdout and 5 < len(held_back) < 35
        assert all(r.status is RecipientStatus.HOLDOUT for r in rows if r.holdout)
        sent_to = {r.about_customer_id for r in await shop.outbox()}
        assert sent_to == {r.customer_id for r in rows} - held_back
        report = await service.report(shop.tools, cid)
        assert report.holdout == len(held_back) and report.adds_up
        assert report.control.customers == len(held_back)  # all would have been sent
    finally:
        await shop.close()


async def test_a_recurring_campaign_freezes_each_run_s_audience(database_url: str) -> None:
    shop = await Shop(database_url).open()
    try:
        await shop.add(Person("Mia"))
        daily = Schedule(ScheduleKind.CRON, cron="0 13 * * *", timezone="Asia/Shanghai")
        campaign = await service.create(shop.tools, spring(schedule=daily), "test")
        cid = campaign.id or 0
        scheduled = await service.change(shop.tools, cid, Action.SCHEDULE)
        assert scheduled.next_run_at == NOW.replace(day=2, hour=5)  # 13:00 in Shanghai
        assert (await service.tick(shop.tools)).started == []
        shop.clock.current = NOW.replace(day=2, hour=5)
        await service.tick(shop.tools)
        await shop.add(Person("Lin", language="zh-Hans"))  # joins the tier after run 1
        again = await service.overview(shop.tools, cid)
        assert again.campaign.state is CampaignState.SCHEDULED and again.campaign.run == 1
        assert again.campaign.next_run_at == NOW.replace(day=3, hour=5)
        shop.clock.current = NOW.replace(day=3, hour=5)
        await service.tick(shop.tools)
        keys = sorted(r.idempotency_key for r in await shop.outbox())
        mia, lin = shop.ids["Mia"], shop.ids["Lin"]
        assert keys == sorted(
            [f"campaign:{cid}:1:{mia}", f"campaign:{cid}:2:{mia}", f"campaign:{cid}:2:{lin}"]
        )
        run_two = await service.report(shop.tools, cid, run=2)
        assert run_two.audience == 2 and run_two.adds_up
    finally:
        await shop.close()


async def test_audience_clauses_combine_with_or_and_consent_filters(database_url: str) -> None:
    shop = await Shop(database_url).open()
    try:
        await shop.add(
            Person("High", tier="high"),
            Person("Zh", tier="base", language="zh-Hans"),
            Person("No", tier="high", consent=False),
            Person("Other", tier="base"),
        )
        either = CampaignAudience(
            (Audience(tiers=frozenset({Tier.HIGH})), Audience(languages=frozenset({"zh-Hans"}))),
            Combine.ANY,
            consent=True,
        )
        campaign = await service.create(shop.tools, spring(either), "test")
        size = await service.audience_size(shop.tools, campaign)
        assert (size.total, size.by_locale) == (2, {"en": 1, "zh-Hans": 1})
        both = CampaignAudience(either.clauses, Combine.ALL)
        narrow = await service.create(shop.tools, spring(both), "test")
        assert (await service.audience_size(shop.tools, narrow)).total == 0
    finally:
        await shop.close()


async def test_preview_and_test_send_only_to_the_staff_member(database_url: str) -> None:
    from bot.core.campaigns.model import LinkButton, LocaleMessage
    from bot.core.roles import Role, StaffMember

    shop = await shop_with(database_url)
    try:
        message = LocaleMessage(
            text="Hello {name} <3", buttons=(LinkButton("Shop now", "https://shop.example/"),)
        )
        spec = spring(messages={"en": message, "zh-Hans": spring().messages["zh-Hans"]})
        campaign = await service.create(shop.tools, spec, "test")
        cid = campaign.id or 0
        shown = {p.locale: p for p in await service.preview(shop.tools, cid)}
        assert set(shown) == {"en", "zh-Hans", "zh-Hant"}
        assert shown["en"].message.text == "Hello Mia &lt;3"  # a customer of the audience
        assert shown["en"].message.buttons[0] == (
            OutButton("Shop now", "", "https://shop.example/"),
        )
        assert shown["zh-Hant"].sample == "Tom"
        with pytest.raises(CampaignError, match="--to: 4242 is not an active staff member"):
            await service.test_send(shop.tools, cid, 4242)
        async with shop.uow() as work:
            await work.staff.save(StaffMember(4242, "Mo", Role.MARKETING, NOW))
            await work.commit()
        rows = await service.test_send(shop.tools, cid, 4242)
        assert len(rows) == 2
        tests = await shop.outbox("campaign-test:")
        assert {r.chat_id for r in tests} == {4242} and await shop.outbox() == []
        assert "Hello Mo &lt;3" in {r.text for r in tests}
    finally:
        await shop.close()


async def test_campaign_messages_count_under_the_marketing_cap(database_url: str) -> None:
    shop = await Shop(database_url).open()
    try:
        await shop.add(Person("Mia"))
        statuses = []
        for _ in range(3):  # the cap is 2 marketing messages in 7 days
            campaign = await service.create(shop.tools, spring(), "test")
            await service.change(shop.tools, campaign.id or 0, Action.SCHEDULE)
            await service.tick(shop.tools)
            statuses.append((await service.overview(shop.tools, campaign.id or 0)).progress)
        assert statuses == [{"queued": 1}, {"queued": 1}, {"cap": 1}]
    finally:
        await shop.close()


async def test_a_freeze_cut_short_carries_on_where_it_stopped(database_url: str) -> None:
    shop = await shop_with(database_url, CampaignPolicy(batch_size=3))
    try:
        campaign = await service.create(shop.tools, spring(), "test")
        cid = campaign.id or 0
        await service.change(shop.tools, cid, Action.SCHEDULE)
        # a process that started the run and froze one page, then died
        assert await delivery.start_run(shop.tools, cid, NOW)
        assert await delivery.freeze_page(shop.tools, cid) == 3
        carried_on = await service.tick(shop.tools)  # another process, later
        assert carried_on.started == [] and carried_on.frozen[cid] == 5
        async with shop.uow() as work:
            rows = await work.campaigns.outcomes(cid)
        assert len(rows) == 8 == len({r.customer_id for r in rows})
        assert len(await shop.outbox()) == 4
    finally:
        await shop.close()


async def test_uplift_from_imported_orders_against_a_hand_computed_example(
    database_url: str, tmp_path: Path
) -> None:
    """Eight mid-tier customers; the holdout draw (its seed chosen here) keeps back C5–C8.
    Orders imported from the shop afterwards, within 14 days of the message unless noted:

    ======  =========================================  ==========
    C1      100.00 paid                                 converted
    C2      50.00 paid; 30.00 paid on day 20 (too late) converted
    C3      nothing
    C4      80.00 cancelled (does not count)
    C5      40.00 paid                                  converted
    C6, C8  nothing
    C7      60.00 paid the day before (does not count)
    ======  =========================================  ==========

    Conversion 2/4 = 0.50 against 1/4 = 0.25: uplift 0.25, se = sqrt(.5·.5/4 + .25·.75/4)
    = 0.330719, 95 %: (−0.398197, 0.898197). Revenue per customer 37.50 (100, 50, 0, 0;
    s² = 2291.67) against 10.00 (40, 0, 0, 0; s² = 400): uplift 27.50, Welch se =
    sqrt(2291.67/4 + 400/4) = 25.940637, 95 %: (−23.342715, 78.342715)."""
    shop = await Shop(database_url).open()
    try:
        names = [f"C{n}" for n in range(1, 9)]
        await shop.add(*(Person(name) for name in names))
        ids = [shop.ids[name] for name in names]
        seed = next(
            s
            for s in range(100_000)
            if [in_holdout(s, i, 0.5) for i in ids] == [False] * 4 + [True] * 4
        )
        campaign = await service.create(shop.tools, spring(holdout=0.5), "test")
        cid = campaign.id or 0
        async with shop.uow() as work:
            await work.session.execute(
                update(CampaignRow).where(col(CampaignRow.id) == cid).values(seed=seed)
            )
            await work.commit()
        await service.change(shop.tools, cid, Action.SCHEDULE)
        await service.tick(shop.tools)
        await shop.deliver_all()

        def day(n: int) -> str:
            return (NOW + timedelta(days=n)).isoformat()

        orders = tmp_path / "orders.csv"
        orders.write_text(
            "order_id,customer_ref,amount,currency,status,created_at,paid_at\n"
            f"O-1,C-C1,100.00,CNY,paid,{day(1)},{day(1)}\n"
            f"O-2,C-C2,50.00,CNY,paid,{day(3)},{day(3)}\n"
            f"O-3,C-C2,30.00,CNY,paid,{day(20)},{day(20)}\n"
            f"O-4,C-C4,80.00,CNY,cancelled,{day(2)},\n"
            f"O-5,C-C5,40.00,CNY,paid,{day(2)},{day(2)}\n"
            f"O-7,C-C7,60.00,CNY,paid,{day(-1)},{day(-1)}\n",
            encoding="utf-8",
        )
        imported = await import_orders_file(
            shop.engine, orders, shop_currency="CNY", now=NOW + timedelta(days=21)
        )
        assert imported.created == 6

        report = await service.report(shop.tools, cid)
        assert report.audience == 8 and report.adds_up
        assert (report.sent, report.holdout) == (4, 4)
        assert (report.treated.customers, report.treated.converted) == (4, 2)
        assert (report.control.customers, report.control.converted) == (4, 1)
        assert report.treated.revenue_per_customer == 3750
        assert report.control.revenue_per_customer == 1000
        conversion, revenue = report.conversion_uplift, report.revenue_uplift_cents
        assert conversion is not None and revenue is not None
        assert conversion.estimate == pytest.approx(0.25)
        assert conversion.low == pytest.approx(-0.398197, abs=1e-6)
        assert conversion.high == pytest.approx(0.898197, abs=1e-6)
        assert revenue.estimate / 100 == pytest.approx(27.5)
        assert revenue.low / 100 == pytest.approx(-23.342715, abs=1e-6)
        assert revenue.high / 100 == pytest.approx(78.342715, abs=1e-6)
    finally:
        await shop.close()
