"""The default playbook's rules that no other end-to-end test drives, on a clock the test moves,
through aiogram AND python-telegram-bot against the emulator (issue #10, SPEC §8): who gets
what, when, in which language, and who is skipped and why.

Covered elsewhere: the advisor's check-in and the unhappy win-back (test_staff_tasks), product
news (test_news), the prospect's welcome (test_coupons), the payment reminder and the revisit
after delivery (test_order_events), the surveys (test_surveys).

Here, one bot and one run of the playbook per step:

* Hana (high, English, her birthday today): the quarterly member-event invitation and the
  birthday greeting with a gift coupon; her survey is skipped — the cap (2 in 7 days) is full;
* Bea (base, Telegram in zh-TW): the monthly coupon in Traditional Chinese, and her survey;
* Wu (dormant, Simplified Chinese, a ``value-seeker``): the price-sensitive win-back;
* Dee (churned): the default win-back;
* Pat (base, said /stop): skipped for consent; Max (mid, blocked the bot): skipped, blocked;
* Nia (new, first order 6 days ago): nothing yet; a day later, the onboarding check-in;
* a day later nothing is sent twice; a month later Bea's next monthly coupon.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.app.jobs import engagement
from bot.app.settings import Framework
from bot.core.engagement.guards import SkipReason
from bot.core.models import Reachability
from bot.core.records import CustomerProfile
from bot.core.services.engagement import context_of, preview
from sandbox import Emulator
from storage.crypto import new_key
from storage.customers_import import import_orders_file
from tests.bot_database import BOT_DATABASE
from tests.e2e.conftest import FAST_PACING, FRAMEWORKS, running_bot, standing
from tests.e2e.test_consent import NO_QUIET_HOURS, Chat
from tests.e2e.test_staff_tasks import drained
from tests.fakes import ShiftedClock

pytestmark = BOT_DATABASE

DAY = 24 * 3600


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_who_gets_what_when_in_which_language_and_who_is_skipped(
    framework: Framework, fast_emulator: Emulator, tmp_path: Path
) -> None:
    emu = fast_emulator
    clock = ShiftedClock()
    settings = {**FAST_PACING, **NO_QUIET_HOURS, "encryption_key": new_key()}
    async with running_bot(emu, tmp_path / "bot.db", framework, clock=clock, **settings) as (
        app,
        services,
    ):
        people = {
            name: Chat(emu, emu.add_user(name, language_code=lang), app)
            for name, lang in (
                ("Hana", "en"),
                ("Bea", "zh-TW"),
                ("Wu", "zh-hans"),
                ("Dee", "en"),
                ("Pat", "en"),
                ("Max", "en"),
                ("Nia", "en"),
            )
        }
        for chat in people.values():
            await chat.say("/start")
        today = clock.now().date()
        ids = {}
        for name, tier, stage in (
            ("Hana", "high", "active"),
            ("Bea", "base", "active"),
            ("Wu", "mid", "dormant"),
            ("Dee", "prospect", "churned"),  # no paid order within the tiers' year
            ("Pat", "base", "active"),
            ("Max", "mid", "active"),
            ("Nia", "prospect", "new"),  # tiers not recomputed since her first order
        ):
            ids[name] = await standing(services, people[name].user.id, tier, stage)
        async with services.uow() as uow:
            birthday = date(1992, today.month, today.day)
            await uow.records.save_profile(
                CustomerProfile(ids["Hana"], birthday=birthday, marketing_consent=True)
            )
            await uow.records.save_profile(
                CustomerProfile(ids["Wu"], tags=("value-seeker",), marketing_consent=True)
            )
            for name, change in (("Max", Reachability.BLOCKED), ("Nia", None)):
                customer = await uow.customers.get(ids[name])
                assert customer is not None
                if change is not None:
                    customer.reachability = change
                customer.customer_ref = "C-NIA" if name == "Nia" else None
                await uow.customers.update(customer)
            await uow.commit()
        await people["Pat"].say("/stop")
        first = (clock.now() - timedelta(days=6)).isoformat()
        orders = tmp_path / "orders.csv"
        orders.write_text(
            "order_id,customer_ref,amount,currency,status,created_at,paid_at\n"
            f"N-1,C-NIA,88.00,CNY,paid,{first},{first}\n",
            encoding="utf-8",
        )
        await import_orders_file(services.engine, orders, shop_currency="CNY", now=clock.now())

        # Who is skipped and why, as `rapport playbook preview` sees it before the run.
        deps = app.dispatcher.deps
        policy = deps.policies.engagement
        results = await preview(deps.uow, policy.playbook, clock.now(), policy, context_of(deps))
        skipped: dict[str, set[tuple[str, SkipReason]]] = defaultdict(set)
        planned: dict[str, set[str]] = defaultdict(set)
        for result in results:
            for s in result.skipped:
                skipped[result.rule_id].add((_name(ids, s.customer_id), s.reason))
            for p in result.planned:
                planned[result.rule_id].add(f"{_name(ids, p.customer_id)}:{p.locale}")
        assert planned["high-member-event"] == {"Hana:en"}
        assert planned["birthday"] == {"Hana:en"}
        assert ("Hana", SkipReason.CAP) in skipped["survey-high"]
        assert planned["base-coupon"] == {"Bea:zh-Hant"}
        assert ("Pat", SkipReason.NO_CONSENT) in skipped["base-coupon"]
        assert ("Max", SkipReason.BLOCKED) in skipped["survey-mid"]
        assert planned["win-back"] == {"Wu:zh-Hans", "Dee:en"}
        assert "new-onboarding" not in planned  # day 6: not yet

        await engagement.run(app.dispatcher)
        await drained(services)
        hana, bea, wu, dee = (people[n].texts() for n in ("Hana", "Bea", "Wu", "Dee"))
        assert any("warmly invited to our next member event" in t for t in hana)
        assert any("Happy birthday, Hana" in t and "15 % off" in t for t in hana)
        assert not any("How likely are you to recommend us" in t for t in hana)  # the cap
        assert any("這是本月送給您的一點心意：10% 折扣" in t for t in bea)
        assert any("限时送您25% 折扣" in t for t in wu)
        assert any("we have missed you at" in t and "15 % off" in t for t in dee)
        assert not any("thank-you for this month" in t for t in people["Pat"].texts())
        assert len(people["Max"].texts()) == 1  # only the welcome, before he blocked the bot
        before = {name: len(chat.texts()) for name, chat in people.items()}

        clock.advance(DAY + 3600)  # a day later: Nia's day 7; nothing else again
        await engagement.run(app.dispatcher)
        await drained(services)
        new = {name: chat.texts()[before[name] :] for name, chat in people.items()}
        assert len(new["Nia"]) == 1 and "a week since your first order" in new["Nia"][0]
        assert all(said == [] for name, said in new.items() if name != "Nia"), new

        clock.advance(31 * DAY)  # a month on: Bea's next monthly coupon
        await engagement.run(app.dispatcher)
        await drained(services)
        coupons = [t for t in people["Bea"].texts() if "這是本月送給您的一點心意" in t]
        assert len(coupons) == 2 and coupons[0] != coupons[1]  # a new code each month


def _name(ids: dict[str, int], customer_id: int) -> str:
    return next((n for n, i in ids.items() if i == customer_id), str(customer_id))
