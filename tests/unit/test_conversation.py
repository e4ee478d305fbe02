"""The bot's behaviour through the real core and handlers, over fakes."""

from __future__ import annotations

from datetime import timedelta

from bot.core.errors import ChatBlocked, RateLimited, TransientError
from bot.core.messages import Outgoing
from bot.core.models import Reachability, RequestReason
from bot.core.ports import FaqMatch
from bot.flows import faq_confirm
from tests.unit.conftest import ALICE, CHAN, WANG, FakeBot, any_faq_id


async def test_start_greets_by_name_in_the_customers_language(bot: FakeBot) -> None:
    await bot.say(ALICE, "/start")
    await bot.say(WANG, "/start")
    await bot.say(CHAN, "/start")
    english, simplified, traditional = bot.messenger.texts()
    assert "Hello Alice" in english
    assert "王芳，您好" in simplified and "欢迎" in simplified
    assert "陳大文，您好" in traditional and "歡迎" in traditional
    assert all(m.template_key == "start.greeting" for m in bot.messenger.sent)


async def test_a_confident_faq_match_is_answered(bot: FakeBot) -> None:
    faq_id = any_faq_id()
    bot.faq.verdicts["when will it come"] = FaqMatch("answer", faq_id, 97.0, "en")
    await bot.say(ALICE, "when will it come")
    reply = bot.messenger.assert_sent("faq.reply")
    expected = bot.deps.renderer.render(f"faq.{faq_id}.question", "en")
    assert expected.split("&")[0] in reply.text
    assert not bot.uow.store.requests


async def test_a_borderline_match_is_confirmed_first_and_yes_answers(bot: FakeBot) -> None:
    faq_id = any_faq_id()
    bot.faq.verdicts["hmm delivery?"] = FaqMatch("confirm", faq_id, 70.0, "en")
    await bot.say(ALICE, "hmm delivery?")
    confirm = bot.messenger.assert_sent("faq.confirm")
    assert [b.data for b in confirm.buttons[0]] == [f"faq:yes:{faq_id}", f"faq:no:{faq_id}"]
    assert bot.uow.store.conversations[ALICE.id].step == faq_confirm.AWAITING_CHOICE

    await bot.press(ALICE, f"faq:yes:{faq_id}", message_id=77)
    assert bot.messenger.callbacks[-1][1] is None
    edit, answer = bot.messenger.sent[-2:]
    assert edit.edit_message_id == 77 and edit.buttons == ()
    assert answer.template_key == "faq.reply"
    assert ALICE.id not in bot.uow.store.conversations


async def test_no_hands_the_customers_own_words_to_a_person(bot: FakeBot) -> None:
    faq_id = any_faq_id()
    # a neutral question: "my parcel is weird" is mild dissatisfaction, a general complaint for
    # triage with its model (SPEC §5), and complaints take the complaint route, not the FAQ
    bot.faq.verdicts["can I ask about gift cards"] = FaqMatch("confirm", faq_id, 70.0, "en")
    await bot.say(ALICE, "can I ask about gift cards")
    await bot.press(ALICE, f"faq:no:{faq_id}")
    [request] = bot.uow.store.requests
    assert request.text == "can I ask about gift cards"
    assert request.reason is RequestReason.FAQ_REJECTED
    promise = bot.messenger.assert_sent("handoff.promised")
    assert "sorry" in promise.text.lower() and f"#{request.id}" in promise.text


async def test_a_question_the_faq_cannot_answer_is_promised_to_a_person(bot: FakeBot) -> None:
    await bot.say(ALICE, "Can you engrave my initials?")
    [request] = bot.uow.store.requests
    assert request.reason is RequestReason.FAQ_MISS
    assert request.due_at - request.created_at == timedelta(minutes=120)
    promise = bot.messenger.assert_sent("handoff.promised")
    # 09:00 UTC + 2 h = 11:00 UTC = 11:00 in London in November.
    assert "I will follow this up for you" in promise.text
    assert "2026-11-22 11:00" in promise.text and "Europe/London" in promise.text
    assert "2 hours" in promise.text


async def test_the_promise_follows_the_configured_service_standard(bot: FakeBot) -> None:
    bot.configure(enquiry_first_response_minutes=45)
    await bot.say(WANG, "你们能刻字吗")
    promise = bot.messenger.assert_sent("handoff.promised")
    assert "45 分钟" in promise.text


async def test_language_choice_is_kept_and_outranks_telegram(bot: FakeBot) -> None:
    await bot.say(ALICE, "/language")
    prompt = bot.messenger.assert_sent("language.prompt")
    labels = [row[0].text for row in prompt.buttons]
    assert labels == ["English", "简体中文", "繁體中文"]
    await bot.press(ALICE, "lang:zh-Hant", message_id=5)
    changed = bot.messenger.sent[-1]
    assert changed.edit_message_id == 5 and "繁體中文" in changed.text
    assert bot.messenger.callbacks[-1][1] == "語言已儲存"
    await bot.say(ALICE, "/help")
    assert "我可以這樣幫助您" in bot.messenger.sent[-1].text
    assert bot.uow.store.customers[1].language == "zh-Hant"


async def test_a_redelivered_update_is_handled_once(bot: FakeBot) -> None:
    msg = bot.incoming(ALICE, text="/start", command="start")
    await bot.feed(msg)
    await bot.feed(msg)
    assert len(bot.messenger.sent) == 1
    inbound = [m for m in bot.uow.store.messages if m.update_id == msg.update_id]
    assert len(inbound) == 1 and inbound[0].handled_at is not None


async def test_every_message_is_logged_both_ways(bot: FakeBot) -> None:
    await bot.say(ALICE, "/start")
    directions = [(m.direction.value, m.template_key) for m in bot.uow.store.messages]
    assert directions == [("in", None), ("out", "start.greeting")]


async def test_unknown_command_and_stale_button_are_not_dead_ends(bot: FakeBot) -> None:
    await bot.say(ALICE, "/frobnicate")
    text = bot.messenger.assert_sent("fallback.unknown_command").text
    assert "/frobnicate" in text and "/language" in text
    await bot.press(ALICE, "old:payload")
    notice = bot.messenger.callbacks[-1][1]
    assert notice and "type your question" in notice


async def test_a_photo_is_kept_and_promised_to_a_person(bot: FakeBot) -> None:
    from bot.core.messages import ContentKind

    await bot.feed(bot.incoming(WANG, content=ContentKind.PHOTO, file_id="F1", text="坏了"))
    [request] = bot.uow.store.requests
    assert request.reason is RequestReason.ATTACHMENT and request.text == "坏了"
    assert "谢谢您发来的内容" in bot.messenger.assert_sent("handoff.promised").text


async def test_a_429_pauses_and_the_same_message_is_retried(bot: FakeBot) -> None:
    bot.messenger.fail_with = [RateLimited(7), TransientError("502")]
    await bot.say(ALICE, "/start")
    assert bot.messenger.template_keys() == ["start.greeting"]
    assert sum(bot.clock.slept) >= 7


async def test_a_blocked_customer_is_marked_unreachable(bot: FakeBot) -> None:
    await bot.say(ALICE, "/start")
    bot.messenger.fail_with = [ChatBlocked("Forbidden: bot was blocked by the user")]
    await bot.say(ALICE, "/help")
    assert bot.uow.store.customers[1].reachability is Reachability.BLOCKED
    await bot.say(ALICE, "/help")  # writing again proves they are reachable again
    reachability: Reachability = bot.uow.store.customers[1].reachability
    assert reachability is Reachability.REACHABLE


async def test_sends_to_one_chat_are_paced(bot: FakeBot) -> None:
    delivery = bot.dispatcher.delivery
    for _ in range(6):
        await delivery.send(Outgoing(chat_id=ALICE.id, text="x"))
    # A burst of 3 (the third keeps the 0.2 s margin in hand), then one per second.
    assert [round(s, 3) for s in bot.clock.slept] == [0.2, 1.0, 1.0, 1.0]


async def test_a_429_is_not_a_failure_however_often_it_comes(bot: FakeBot) -> None:
    """SPEC §11: nothing accepted is lost. Ten 429s in a row exceed `max_send_attempts` (5),
    yet the message still goes out, each time after the pause Telegram asked for."""
    bot.messenger.fail_with = [RateLimited(2) for _ in range(10)]
    await bot.say(ALICE, "/start")
    assert bot.messenger.template_keys() == ["start.greeting"]
    assert sum(bot.clock.slept) >= 20


async def test_transient_failures_are_bounded(bot: FakeBot) -> None:
    bot.messenger.fail_with = [TransientError("502") for _ in range(10)]
    await bot.say(ALICE, "/start")
    assert bot.messenger.template_keys() == []  # gave up after max_send_attempts, logged
