"""End-to-end tests of the local Bot API emulator (``sandbox``).

Raw HTTP goes through httpx; two tests drive the emulator with the real aiogram and
python-telegram-bot ``Bot`` objects to prove their requests pass validation and their parsers
accept every answer. Flood tests configure tight limits explicitly; nothing relies on luck
with timing (long timeouts, short sleeps only where a request must be in flight).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from sandbox import Emulator, Fault, FloodLimits, RecordedRequest, SimChat, SimUser, VirtualClock

pytestmark = pytest.mark.e2e

TOKEN = "123456:TEST"
NO_FLOOD = FloodLimits(enabled=False)


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(token=TOKEN, limits=FloodLimits(enabled=False)) as emulator:
        yield emulator


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{emu.base_url}/bot{TOKEN}/", trust_env=False, timeout=30.0
    ) as client:
        yield client


async def call(http: httpx.AsyncClient, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """POST ``params`` form-encoded like python-telegram-bot (non-strings JSON-encoded)."""
    data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    response = await http.post(method, data=data)
    return response.status_code, response.json()


def keyboard(*data: str) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": d.upper(), "callback_data": d} for d in data]]}


# ====================================================================== basics
async def test_get_me_token_and_unknown_method(emu: Emulator, http: httpx.AsyncClient) -> None:
    status, body = await call(http, "getMe")
    assert status == 200 and body["ok"] is True
    me = body["result"]
    assert me["id"] == emu.bot.id == 123456 and me["is_bot"] is True
    assert me["username"] == "rapport_bot" and me["first_name"] == "Rapport"
    for key in ("can_join_groups", "can_read_all_group_messages", "supports_inline_queries"):
        assert key in me

    got = await http.get("getme")  # GET and case-insensitive method names work too
    assert got.status_code == 200 and got.json()["result"]["id"] == me["id"]

    async with httpx.AsyncClient(trust_env=False) as raw:
        wrong = await raw.post(f"{emu.base_url}/bot999:WRONG/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    status, body = await call(http, "sendMessageNow", chat_id=1, text="x")
    assert status == 404 and body["description"] == "Not Found"
    assert [r.status for r in emu.requests] == [200, 200, 401, 404]


async def test_long_polling_offsets_and_commands(emu: Emulator, http: httpx.AsyncClient) -> None:
    alice = emu.add_user("Alice", username="alice", language_code="de")
    first = await emu.send_text(alice, "/start promo42")
    await emu.send_text(alice, "hello")

    status, body = await call(http, "getUpdates", timeout=0)
    updates = body["result"]
    assert status == 200 and [u["update_id"] for u in updates] == [
        first["update_id"],
        first["update_id"] + 1,
    ]
    message = updates[0]["message"]
    assert message["chat"] == {
        "id": alice.id,
        "type": "private",
        "first_name": "Alice",
        "username": "alice",
    }
    assert message["from"]["language_code"] == "de"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert "entities" not in updates[1]["message"]

    # without an offset nothing is confirmed; an offset confirms everything below it
    _, again = await call(http, "getUpdates")
    assert len(again["result"]) == 2
    _, rest = await call(http, "getUpdates", offset=first["update_id"] + 1, limit=5)
    assert [u["message"]["text"] for u in rest["result"]] == ["hello"]
    _, none = await call(http, "getUpdates", offset=first["update_id"] + 2, timeout=0)
    assert none["result"] == [] and emu.pending_updates() == 0


async def test_get_updates_returns_as_soon_as_an_update_arrives(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    bob = emu.add_user("Bob")
    started = time.monotonic()
    poll = asyncio.create_task(call(http, "getUpdates", timeout=20))
    await emu.wait_until_polling()
    assert not poll.done()
    await emu.send_text(bob, "are you there?")
    status, body = await asyncio.wait_for(poll, 10)
    assert status == 200 and body["result"][0]["message"]["text"] == "are you there?"
    assert time.monotonic() - started < 10


async def test_long_poll_times_out_empty(http: httpx.AsyncClient) -> None:
    started = time.monotonic()
    status, body = await call(http, "getUpdates", timeout=1)
    assert status == 200 and body["result"] == []
    assert time.monotonic() - started >= 0.9


async def test_concurrent_get_updates_conflict(emu: Emulator, http: httpx.AsyncClient) -> None:
    first = asyncio.create_task(call(http, "getUpdates", timeout=20))
    await emu.wait_until_polling()  # the first poll is held by the server
    second = asyncio.create_task(call(http, "getUpdates", timeout=20))
    status, body = await asyncio.wait_for(first, 10)
    # like Telegram, the newer request terminates the older one
    assert status == 409
    assert body["description"] == "Conflict: terminated by other getUpdates request"
    await emu.send_text(emu.add_user("Carol"), "hi")
    status, body = await asyncio.wait_for(second, 10)
    assert status == 200 and len(body["result"]) == 1


# ====================================================================== sending and parsing
async def test_send_message_answers_a_message_both_frameworks_parse(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    from aiogram.types import Message as AiogramMessage
    from telegram import Bot as PtbBot
    from telegram import Message as PtbMessage

    alice = emu.add_user("Alice")
    status, body = await call(
        http,
        "sendMessage",
        chat_id=alice.id,
        text="Hello <b>Alice</b>",
        parse_mode="HTML",
        reply_markup=keyboard("yes", "no"),
    )
    assert status == 200
    result = body["result"]
    assert result["text"] == "Hello Alice"
    assert result["entities"] == [{"type": "bold", "offset": 6, "length": 5}]
    assert result["from"]["id"] == emu.bot.id and isinstance(result["date"], int)
    assert result["reply_markup"] == keyboard("yes", "no")

    parsed = AiogramMessage.model_validate(result)
    assert parsed.chat.id == alice.id and parsed.reply_markup is not None
    ptb = PtbMessage.de_json(result, PtbBot(TOKEN))
    assert ptb is not None and ptb.text == "Hello Alice" and ptb.from_user is not None
    assert ptb.from_user.is_bot

    # a numeric text stays a string; chat_id as a numeric string becomes an int
    status, body = await call(http, "sendMessage", chat_id=str(alice.id), text="123")
    assert status == 200 and body["result"]["text"] == "123"
    assert emu.requests[-1].params == {"chat_id": alice.id, "text": "123"}
    assert [m["message_id"] for m in emu.bot_messages(alice.id)] == [1, 2]


async def test_validation_errors(emu: Emulator, http: httpx.AsyncClient) -> None:
    alice = emu.add_user("Alice")
    status, body = await call(http, "sendMessage", chat_idd=alice.id, text="hi")
    assert status == 400 and body["description"] == 'Bad Request: unknown parameter "chat_idd"'
    assert body["error_code"] == 400 and body["ok"] is False

    status, body = await call(http, "sendMessage", chat_id=alice.id)
    assert status == 400 and body["description"] == 'Bad Request: parameter "text" is required'

    status, body = await call(http, "sendMessage", chat_id=alice.id, text="x" * 4097)
    assert status == 400 and body["description"] == "Bad Request: message is too long"

    status, body = await call(
        http, "sendMessage", chat_id=alice.id, text="x", reply_markup=keyboard("d" * 65)
    )
    assert status == 400 and body["description"] == "Bad Request: BUTTON_DATA_INVALID"

    status, body = await call(
        http, "sendMessage", chat_id=alice.id, text="x", reply_markup={"inline_keyboard": 5}
    )
    assert status == 400 and "reply_markup" in body["description"]

    status, body = await call(http, "sendMessage", chat_id=alice.id, text="x", protect_content=3)
    assert status == 400 and "protect_content" in body["description"]

    status, body = await call(http, "sendMessage", chat_id=424242, text="x")
    assert status == 400 and body["description"] == "Bad Request: chat not found"

    status, body = await call(
        http, "sendMessage", chat_id=alice.id, text="<b>x", parse_mode="HTML"
    )
    assert status == 400 and "can't parse entities" in body["description"]
    assert emu.bot_messages(alice.id) == []


async def test_validation_can_be_switched_off() -> None:
    async with (
        Emulator(validate=False, limits=NO_FLOOD) as emu,
        httpx.AsyncClient(base_url=f"{emu.base_url}/bot{TOKEN}/", trust_env=False) as http,
    ):
        alice = emu.add_user("Alice")
        status, body = await call(http, "sendMessage", chat_id=alice.id, text="hi", extra=1)
        assert status == 200 and body["result"]["text"] == "hi"


async def test_json_body_and_query_string(emu: Emulator, http: httpx.AsyncClient) -> None:
    alice = emu.add_user("Alice")
    response = await http.post("sendMessage", json={"chat_id": alice.id, "text": "json"})
    assert response.status_code == 200 and response.json()["result"]["text"] == "json"
    response = await http.get("sendMessage", params={"chat_id": alice.id, "text": "query"})
    assert response.status_code == 200 and response.json()["result"]["text"] == "query"


async def test_user_content_kinds_parse_in_both_frameworks(emu: Emulator) -> None:
    from aiogram.types import Update as AiogramUpdate
    from telegram import Bot as PtbBot
    from telegram import Update as PtbUpdate

    alice = emu.add_user("Alice", last_name="Liddell", username="alice")
    bot = PtbBot(TOKEN)
    updates = [
        await emu.send_message(alice, photo=True, caption="my receipt"),
        await emu.send_message(alice, document=True),
        await emu.send_message(alice, voice=True),
        await emu.send_message(alice, contact=("+15550001", "Alice")),
        await emu.send_message(alice, location=(52.52, 13.40)),
        await emu.send_message(alice, text="re", reply_to_message_id=1),
    ]
    for update in updates:
        AiogramUpdate.model_validate(update)
        assert PtbUpdate.de_json(update, bot) is not None
    photo = updates[0]["message"]["photo"]
    assert len(photo) == 3 and updates[0]["message"]["caption"] == "my receipt"
    assert updates[3]["message"]["contact"]["user_id"] == alice.id
    assert updates[5]["message"]["reply_to_message"]["message_id"] == 1
    with pytest.raises(LookupError):
        await emu.send_message(alice, text="x", reply_to_message_id=999)


# ====================================================================== edits and buttons
async def test_edit_message_text_errors_and_keyboard(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    alice = emu.add_user("Alice")
    _, body = await call(
        http, "sendMessage", chat_id=alice.id, text="Pick", reply_markup=keyboard("a")
    )
    mid = body["result"]["message_id"]

    status, body = await call(http, "editMessageText", chat_id=alice.id, message_id=99, text="x")
    assert status == 400 and body["description"] == "Bad Request: message to edit not found"

    status, body = await call(
        http,
        "editMessageText",
        chat_id=alice.id,
        message_id=mid,
        text="Pick",
        reply_markup=keyboard("a"),
    )
    assert status == 400
    assert body["description"].startswith("Bad Request: message is not modified: ")

    status, body = await call(
        http, "editMessageText", chat_id=alice.id, message_id=mid, text="Picked"
    )
    assert status == 200 and body["result"]["text"] == "Picked" and "edit_date" in body["result"]
    [current] = emu.bot_messages(alice.id)
    assert current["text"] == "Picked" and "reply_markup" not in current  # keyboard removed

    status, body = await call(
        http,
        "editMessageReplyMarkup",
        chat_id=alice.id,
        message_id=mid,
        reply_markup=keyboard("b"),
    )
    assert status == 200 and emu.bot_messages(alice.id)[0]["reply_markup"] == keyboard("b")

    user_message = await emu.send_text(alice, "mine")
    status, body = await call(
        http,
        "editMessageText",
        chat_id=alice.id,
        message_id=user_message["message"]["message_id"],
        text="hacked",
    )
    assert status == 400 and body["description"] == "Bad Request: message can't be edited"


async def test_press_button_answer_and_user_edit(emu: Emulator, http: httpx.AsyncClient) -> None:
    alice = emu.add_user("Alice")
    _, body = await call(
        http, "sendMessage", chat_id=alice.id, text="Rate us", reply_markup=keyboard("5", "1")
    )
    mid = body["result"]["message_id"]
    update = await emu.press_button(alice, mid, "5")
    query = update["callback_query"]
    assert query["data"] == "5" and query["message"]["message_id"] == mid
    assert query["from"]["id"] == alice.id and query["chat_instance"]
    with pytest.raises(LookupError):
        await emu.press_button(alice, mid, "7")

    status, body = await call(
        http, "answerCallbackQuery", callback_query_id=query["id"], text="ty"
    )
    assert status == 200 and body["result"] is True
    assert emu.callback_answer(query["id"]) == {"callback_query_id": query["id"], "text": "ty"}
    status, body = await call(http, "answerCallbackQuery", callback_query_id="nope")
    assert status == 400 and "query is too old" in body["description"]

    sent = await emu.send_text(alice, "typo")
    edited = await emu.edit_user_message(alice, sent["message"]["message_id"], "fixed")
    assert edited["edited_message"]["text"] == "fixed" and "edit_date" in edited["edited_message"]


# ====================================================================== forum topics and copies
async def test_forum_topics(emu: Emulator, http: httpx.AsyncClient) -> None:
    desk = emu.add_forum_group("Staff desk")
    assert desk.type == "supergroup" and desk.is_forum and str(desk.id).startswith("-100")
    status, body = await call(http, "createForumTopic", chat_id=desk.id, name="Alice #1")
    assert status == 200
    topic = body["result"]
    assert set(topic) == {"message_thread_id", "name", "icon_color"}
    thread = topic["message_thread_id"]

    status, body = await call(
        http, "sendMessage", chat_id=desk.id, message_thread_id=thread, text="new customer"
    )
    message = body["result"]
    assert status == 200 and message["message_thread_id"] == thread
    assert message["is_topic_message"] is True
    assert message["reply_to_message"]["forum_topic_created"]["name"] == "Alice #1"

    status, body = await call(
        http, "sendMessage", chat_id=desk.id, message_thread_id=thread + 1000, text="x"
    )
    assert status == 400 and body["description"] == "Bad Request: message thread not found"

    for method in ("closeForumTopic", "reopenForumTopic"):
        status, _ = await call(http, method, chat_id=desk.id, message_thread_id=thread)
        assert status == 200
    status, _ = await call(
        http, "editForumTopic", chat_id=desk.id, message_thread_id=thread, name="Alice ✓"
    )
    assert status == 200 and emu.topics(desk.id)[0].name == "Alice ✓"

    agent = emu.add_user("Agent")
    emu.add_member(desk, agent)
    reply = await emu.send_text(agent, "hi Alice", chat=desk, thread_id=thread)
    assert reply["message"]["is_topic_message"] is True

    emu.delete_forum_topic(desk, thread)
    status, body = await call(
        http, "sendMessage", chat_id=desk.id, message_thread_id=thread, text="x"
    )
    assert status == 400 and body["description"] == "Bad Request: message thread not found"
    assert [m["text"] for m in emu.bot_messages(desk.id, thread_id=thread)] == ["new customer"]

    plain = emu.add_group("Not a forum")
    status, body = await call(http, "createForumTopic", chat_id=plain.id, name="x")
    assert status == 400 and "not a forum" in body["description"]

    status, body = await call(http, "getChat", chat_id=desk.id)
    from aiogram.types import ChatFullInfo

    info = ChatFullInfo.model_validate(body["result"])
    assert info.is_forum and info.title == "Staff desk"


async def test_copy_and_forward_message(emu: Emulator, http: httpx.AsyncClient) -> None:
    alice = emu.add_user("Alice")
    desk = emu.add_forum_group("Desk")
    _, body = await call(http, "createForumTopic", chat_id=desk.id, name="Alice")
    thread = body["result"]["message_thread_id"]
    photo = await emu.send_message(alice, photo=True, caption="broken cup")
    source_id = photo["message"]["message_id"]

    status, body = await call(
        http,
        "copyMessage",
        chat_id=desk.id,
        from_chat_id=alice.id,
        message_id=source_id,
        message_thread_id=thread,
    )
    assert status == 200 and set(body["result"]) == {"message_id"}
    [copied] = emu.bot_messages(desk.id, thread_id=thread)
    assert copied["message_id"] == body["result"]["message_id"]
    assert copied["caption"] == "broken cup" and copied["photo"] == photo["message"]["photo"]
    assert "forward_origin" not in copied

    status, body = await call(
        http, "forwardMessage", chat_id=desk.id, from_chat_id=alice.id, message_id=source_id
    )
    assert status == 200 and body["result"]["forward_origin"]["sender_user"]["id"] == alice.id

    status, body = await call(
        http, "copyMessage", chat_id=desk.id, from_chat_id=alice.id, message_id=777
    )
    assert status == 400 and body["description"] == "Bad Request: message to copy not found"


# ====================================================================== flood control
async def test_flood_per_chat_limit() -> None:
    limits = FloodLimits(per_chat_rate=0.1, per_chat_burst=2, global_rate=1000, global_burst=1000)
    async with (
        Emulator(limits=limits) as emu,
        httpx.AsyncClient(base_url=f"{emu.base_url}/bot{TOKEN}/", trust_env=False) as http,
    ):
        alice, bob = emu.add_user("Alice"), emu.add_user("Bob")
        assert (await call(http, "sendMessage", chat_id=alice.id, text="1"))[0] == 200
        assert (await call(http, "sendMessage", chat_id=alice.id, text="2"))[0] == 200
        status, body = await call(http, "sendMessage", chat_id=alice.id, text="3")
        assert status == 429
        retry_after = body["parameters"]["retry_after"]
        assert isinstance(retry_after, int) and 1 <= retry_after <= 10
        assert body["description"] == f"Too Many Requests: retry after {retry_after}"
        assert emu.requests[-1].status == 429  # recorded too
        # other chats and non-sending methods are not affected
        assert (await call(http, "sendMessage", chat_id=bob.id, text="1"))[0] == 200
        assert (await call(http, "getMe"))[0] == 200
        assert len(emu.bot_messages(alice.id)) == 2
        emu.reset_limits()
        assert (await call(http, "sendMessage", chat_id=alice.id, text="3"))[0] == 200


async def test_flood_global_limit() -> None:
    limits = FloodLimits(per_chat_burst=100, per_chat_rate=100, global_rate=0.1, global_burst=3)
    async with (
        Emulator(limits=limits) as emu,
        httpx.AsyncClient(base_url=f"{emu.base_url}/bot{TOKEN}/", trust_env=False) as http,
    ):
        users = [emu.add_user(f"U{i}") for i in range(4)]
        statuses = [(await call(http, "sendMessage", chat_id=u.id, text="x"))[0] for u in users]
        assert statuses == [200, 200, 200, 429]


async def test_flood_group_limit_twenty_per_minute() -> None:
    limits = FloodLimits(
        per_chat_rate=100, per_chat_burst=100, global_rate=1000, global_burst=1000
    )
    async with (
        Emulator(limits=limits) as emu,
        httpx.AsyncClient(base_url=f"{emu.base_url}/bot{TOKEN}/", trust_env=False) as http,
    ):
        desk = emu.add_forum_group("Desk")
        status, body = await call(http, "createForumTopic", chat_id=desk.id, name="T")
        assert status == 200  # topic creation counts: 19 left
        thread = body["result"]["message_thread_id"]
        for i in range(19):
            status, _ = await call(
                http, "sendMessage", chat_id=desk.id, message_thread_id=thread, text=str(i)
            )
            assert status == 200, i
        status, body = await call(http, "sendMessage", chat_id=desk.id, text="21st")
        assert status == 429 and 1 <= body["parameters"]["retry_after"] <= 3
        status, body = await call(
            http, "editMessageText", chat_id=desk.id, message_id=thread + 1, text="edit"
        )
        assert status == 429  # edits count too
        alice = emu.add_user("Alice")
        assert (await call(http, "sendMessage", chat_id=alice.id, text="dm"))[0] == 200


async def test_telegrams_default_limits_hold_on_virtual_time() -> None:
    """On a virtual clock the default limits are proven to the hundredth of a second, and
    nobody waits: 1/s per chat after a burst of 3, 30/s bot-wide, 20/min per group."""
    clock = VirtualClock()  # not running: moved by hand below
    async with (
        Emulator(clock=clock) as emu,
        httpx.AsyncClient(base_url=f"{emu.base_url}/bot{TOKEN}/", trust_env=False) as http,
    ):

        async def send(chat: int) -> int:
            return (await call(http, "sendMessage", chat_id=chat, text="x"))[0]

        alice = emu.add_user("Alice").id
        assert [await send(alice) for _ in range(4)] == [200, 200, 200, 429]
        assert emu.requests[-1].response["parameters"] == {"retry_after": 1}
        clock.advance(0.99)
        assert await send(alice) == 429  # not quite a second yet
        clock.advance(0.01)
        assert await send(alice) == 200
        assert emu.requests[-1].at - emu.requests[0].at == pytest.approx(1.0)

        clock.advance(60)
        others = [emu.add_user(f"U{i}").id for i in range(31)]
        assert [await send(u) for u in others] == [200] * 30 + [429]
        clock.advance(0.03)
        assert await send(others[-1]) == 429  # a thirtieth of a second has not passed
        clock.advance(0.004)
        assert await send(others[-1]) == 200

        clock.advance(60)
        desk = emu.add_forum_group("Desk").id
        # At one message a second a group's bucket (20, refilled by one every 3 s) empties
        # after 29 messages; the 30th is refused though the per-chat limit would allow it.
        statuses = []
        for _ in range(30):
            statuses.append(await send(desk))
            clock.advance(1.0)
        assert statuses == [200] * 29 + [429]
        assert emu.requests[-1].response["parameters"]["retry_after"] == 1
        clock.advance(1.0)
        assert await send(desk) == 200


async def test_a_reply_keyboard_is_not_echoed_in_the_returned_message(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    """Telegram returns only an inline keyboard in a Message; the user still sees the reply
    keyboard. aiogram refuses a Message that carries one (it logged an error on every send)."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove

    alice = emu.add_user("Alice")
    contact = {
        "keyboard": [[{"text": "Share", "request_contact": True}]],
        "one_time_keyboard": True,
    }
    status, body = await call(
        http, "sendMessage", chat_id=alice.id, text="Your phone?", reply_markup=contact
    )
    assert status == 200 and "reply_markup" not in body["result"]
    assert emu.bot_messages(alice.id)[0]["reply_markup"] == contact  # what the user sees
    status, body = await call(
        http,
        "sendMessage",
        chat_id=alice.id,
        text="Thanks",
        reply_markup={"remove_keyboard": True},
    )
    assert status == 200 and "reply_markup" not in body["result"]
    status, body = await call(
        http, "sendMessage", chat_id=alice.id, text="?", reply_markup=keyboard("y")
    )
    assert body["result"]["reply_markup"] == keyboard("y")  # an inline keyboard is returned
    update = await emu.send_text(alice, "+44 7700 900123")
    assert "reply_markup" not in update["message"].get("reply_to_message", {})

    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
    try:
        share = ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="Share", request_contact=True)]], one_time_keyboard=True
        )
        sent = await bot.send_message(alice.id, "Your phone?", reply_markup=share)
        assert sent.reply_markup is None
        removed = await bot.send_message(alice.id, "Thanks", reply_markup=ReplyKeyboardRemove())
        assert removed.reply_markup is None
    finally:
        await bot.session.close()


async def test_flood_limits_can_be_disabled(emu: Emulator, http: httpx.AsyncClient) -> None:
    alice = emu.add_user("Alice")
    for i in range(40):
        assert (await call(http, "sendMessage", chat_id=alice.id, text=str(i)))[0] == 200


# ====================================================================== faults
async def test_faults(emu: Emulator, http: httpx.AsyncClient) -> None:
    alice, bob = emu.add_user("Alice"), emu.add_user("Bob")

    emu.inject_fault(Fault(kind="blocked", chat_id=alice.id))
    status, body = await call(http, "sendMessage", chat_id=alice.id, text="x")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    assert (await call(http, "sendMessage", chat_id=bob.id, text="x"))[0] == 200
    assert (await call(http, "getUpdates"))[0] == 200  # polling is left alone
    emu.clear_faults()
    assert (await call(http, "sendMessage", chat_id=alice.id, text="x"))[0] == 200

    emu.inject_fault(Fault(kind="chat_not_found", chat_id=bob.id, times=1))
    status, body = await call(http, "sendMessage", chat_id=bob.id, text="x")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    assert (await call(http, "sendMessage", chat_id=bob.id, text="x"))[0] == 200  # used up

    emu.inject_fault(Fault(kind="server_error", method="sendMessage", times=2))
    for _ in range(2):
        status, body = await call(http, "sendMessage", chat_id=bob.id, text="x")
        assert (status, body["description"]) == (502, "Bad Gateway")
    assert (await call(http, "sendMessage", chat_id=bob.id, text="x"))[0] == 200

    emu.inject_fault(Fault(kind="retry_after", retry_after=7, times=1))
    status, body = await call(http, "sendMessage", chat_id=bob.id, text="x")
    assert status == 429 and body["parameters"] == {"retry_after": 7}

    emu.inject_fault(Fault(kind="delay", delay=0.3, method="sendMessage", times=1))
    started = time.monotonic()
    assert (await call(http, "sendMessage", chat_id=bob.id, text="slow"))[0] == 200
    assert time.monotonic() - started >= 0.3

    desk = emu.add_forum_group("Desk")
    _, body = await call(http, "createForumTopic", chat_id=desk.id, name="T")
    thread = body["result"]["message_thread_id"]
    emu.inject_fault(Fault(kind="thread_not_found", chat_id=desk.id))
    status, body = await call(
        http, "sendMessage", chat_id=desk.id, message_thread_id=thread, text="x"
    )
    assert (status, body["description"]) == (400, "Bad Request: message thread not found")


# ====================================================================== webhook
async def test_webhook_delivery_with_secret_and_retries(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    answers = [500, 200, 200]

    async def receive(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        status = answers.pop(0) if answers else 200
        if len(received) == 3:  # answer with a method call, as aiogram can
            return web.json_response(
                {"method": "sendMessage", "chat_id": alice.id, "text": "from webhook"}
            )
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    alice = emu.add_user("Alice")
    try:
        status, _ = await call(
            http, "setWebhook", url=f"http://127.0.0.1:{port}/hook", secret_token="s3cr3t"
        )
        assert status == 200
        status, body = await call(http, "getUpdates")
        assert status == 409 and "webhook is active" in body["description"]

        emu.mark()
        first = await emu.send_text(alice, "via webhook")
        await emu.send_text(alice, "second")
        await emu.wait_for("sendMessage", chat_id=alice.id, timeout=10)
        assert [secret for secret, _ in received] == ["s3cr3t"] * 3
        ids = [update["update_id"] for _, update in received]
        assert ids == [first["update_id"], first["update_id"], first["update_id"] + 1]
        assert emu.bot_messages(alice.id)[0]["text"] == "from webhook"

        _, info = await call(http, "getWebhookInfo")
        assert info["result"]["url"].endswith("/hook")
        assert info["result"]["pending_update_count"] == 0
        assert "500" in info["result"]["last_error_message"]
        from telegram import Bot as PtbBot
        from telegram import WebhookInfo

        assert WebhookInfo.de_json(info["result"], PtbBot(TOKEN)) is not None

        status, body = await call(http, "setWebhook", url="https://example.com/hook")
        assert status == 400  # the sandbox never leaves the machine
        assert (await call(http, "deleteWebhook", drop_pending_updates=True))[0] == 200
        assert (await call(http, "getUpdates"))[0] == 200
    finally:
        await runner.cleanup()


# ====================================================================== wait_for and records
async def test_wait_for_and_mark(emu: Emulator, http: httpx.AsyncClient) -> None:
    alice = emu.add_user("Alice")
    await call(http, "sendMessage", chat_id=alice.id, text="old")
    emu.mark()
    with pytest.raises(asyncio.TimeoutError) as caught:
        await emu.wait_for("sendMessage", chat_id=alice.id, timeout=0.2)
    assert "sendMessage" in str(caught.value) and "0 matching" in str(caught.value)

    async def later() -> None:
        await asyncio.sleep(0.1)
        await call(http, "sendMessage", chat_id=alice.id, text="one", reply_markup=keyboard("a"))
        await call(http, "sendMessage", chat_id=alice.id, text="two")

    task = asyncio.create_task(later())
    found = await emu.wait_for("sendMessage", chat_id=alice.id, count=2, timeout=10)
    await task
    assert [r.params["text"] for r in found] == ["one", "two"]
    request: RecordedRequest = found[0]
    assert request.chat_id == alice.id and request.status == 200 and request.ok
    assert request.params["reply_markup"] == keyboard("a")  # JSON-decoded
    assert request.response["result"]["text"] == "one" and request.at <= time.monotonic()
    picked = await emu.wait_for("sendMessage", predicate=lambda r: r.params["text"] == "two")
    assert len(picked) == 1


# ====================================================================== real clients
async def test_real_aiogram_bot(emu: Emulator) -> None:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import (
        TelegramBadRequest,
        TelegramConflictError,
        TelegramForbiddenError,
        TelegramRetryAfter,
    )
    from aiogram.types import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

    alice = emu.add_user("Alice", username="alice")
    desk = emu.add_forum_group("Desk")
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
    try:
        me = await bot.get_me()
        assert me.id == bot.id == emu.bot.id and me.username == "rapport_bot"
        await bot.delete_webhook(drop_pending_updates=True)
        await bot.set_my_commands([BotCommand(command="start", description="Start")])
        markup = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="yes")]]
        )
        sent = await bot.send_message(alice.id, "Hi <i>there</i>", reply_markup=markup,
                                      parse_mode="HTML")  # fmt: skip
        assert sent.text == "Hi there" and sent.reply_markup is not None
        assert sent.reply_markup.inline_keyboard[0][0].callback_data == "yes"
        edited = await bot.edit_message_text(
            "Thanks", chat_id=alice.id, message_id=sent.message_id, reply_markup=markup
        )
        assert not isinstance(edited, bool) and edited.text == "Thanks"

        await emu.send_text(alice, "/start")
        updates = await bot.get_updates(timeout=5)
        assert updates[0].message is not None and updates[0].message.text == "/start"
        await emu.press_button(alice, sent.message_id, "yes")
        updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=5,
                                        allowed_updates=["message", "callback_query"])  # fmt: skip
        query = updates[0].callback_query
        assert query is not None and query.data == "yes"
        assert await bot.answer_callback_query(query.id, text="Noted")

        topic = await bot.create_forum_topic(desk.id, "Alice", icon_color=0xFFD67E)
        copied = await bot.copy_message(
            desk.id, alice.id, sent.message_id, message_thread_id=topic.message_thread_id
        )
        assert copied.message_id > topic.message_thread_id
        await bot.forward_message(desk.id, alice.id, sent.message_id)
        info = await bot.get_chat(desk.id)
        assert info.is_forum
        await bot.close_forum_topic(desk.id, topic.message_thread_id)
        await bot.reopen_forum_topic(desk.id, topic.message_thread_id)
        await bot.edit_forum_topic(desk.id, topic.message_thread_id, name="Alice (VIP)")

        with pytest.raises(TelegramBadRequest, match="message to edit not found"):
            await bot.edit_message_text("x", chat_id=alice.id, message_id=9999)
        emu.inject_fault(Fault(kind="blocked", chat_id=alice.id, times=1))
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(alice.id, "x")
        emu.inject_fault(Fault(kind="retry_after", retry_after=3, times=1))
        with pytest.raises(TelegramRetryAfter) as flood:
            await bot.send_message(alice.id, "x")
        assert flood.value.retry_after == 3
        pending = await bot.get_updates(timeout=0)
        await bot.get_updates(offset=pending[-1].update_id + 1)  # confirm all: nothing queued
        poll = asyncio.create_task(bot.get_updates(timeout=20))
        await emu.wait_until_polling()
        await bot.get_updates(timeout=0)
        with pytest.raises(TelegramConflictError):
            await asyncio.wait_for(poll, 10)
    finally:
        await bot.session.close()
    bad = [r for r in emu.requests if r.status == 400 and "message to edit" not in str(r.response)]
    assert bad == []


async def test_real_python_telegram_bot(emu: Emulator) -> None:
    import datetime

    import telegram
    from telegram.error import BadRequest, Conflict, Forbidden, RetryAfter
    from telegram.request import HTTPXRequest

    alice = emu.add_user("Alice")
    desk = emu.add_forum_group("Desk")
    bot = telegram.Bot(
        TOKEN,
        base_url=f"{emu.base_url}/bot",
        base_file_url=f"{emu.base_url}/file/bot",
        request=HTTPXRequest(httpx_kwargs={"trust_env": False}),
        get_updates_request=HTTPXRequest(httpx_kwargs={"trust_env": False}),
    )
    await bot.initialize()
    try:
        assert bot.id == emu.bot.id and bot.username == "rapport_bot"
        await bot.delete_webhook()
        await bot.set_my_commands([("start", "Start"), ("help", "Help")])
        markup = telegram.InlineKeyboardMarkup(
            [[telegram.InlineKeyboardButton("Yes", callback_data="yes")]]
        )
        sent = await bot.send_message(alice.id, "Hi", reply_markup=markup)
        assert sent.text == "Hi" and sent.reply_markup == markup
        edited = await bot.edit_message_text(
            "Thanks", chat_id=alice.id, message_id=sent.message_id, reply_markup=markup
        )
        assert isinstance(edited, telegram.Message) and edited.text == "Thanks"

        await emu.send_text(alice, "/help")
        updates = await bot.get_updates(timeout=5)
        assert updates[0].message is not None and updates[0].message.text == "/help"
        await emu.press_button(alice, sent.message_id, "yes")
        updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=5)
        query = updates[0].callback_query
        assert query is not None and query.data == "yes"
        assert await bot.answer_callback_query(query.id, text="Noted")

        topic = await bot.create_forum_topic(desk.id, "Alice")
        await bot.send_message(desk.id, "hello desk", message_thread_id=topic.message_thread_id)
        await bot.copy_message(
            desk.id, alice.id, sent.message_id, message_thread_id=topic.message_thread_id
        )
        chat = await bot.get_chat(desk.id)
        assert chat.is_forum and chat.title == "Desk"

        photo = await bot.send_photo(alice.id, b"\xff\xd8\xff" + b"0" * 500, caption="receipt")
        assert photo.caption == "receipt" and photo.photo
        await bot.send_document(alice.id, b"hello", filename="notes.txt")
        incoming = await emu.send_message(alice, document=True)
        file = await bot.get_file(incoming["message"]["document"]["file_id"])
        data = await file.download_as_bytearray()
        assert data.startswith(b"%PDF")

        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text(
                "Thanks", chat_id=alice.id, message_id=sent.message_id, reply_markup=markup
            )
        emu.inject_fault(Fault(kind="blocked", chat_id=alice.id, times=1))
        with pytest.raises(Forbidden):
            await bot.send_message(alice.id, "x")
        emu.inject_fault(Fault(kind="retry_after", retry_after=2, times=1))
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(alice.id, "x")
        assert flood.value.retry_after == datetime.timedelta(seconds=2)
        pending = await bot.get_updates(timeout=0)
        await bot.get_updates(offset=pending[-1].update_id + 1)  # confirm all: nothing queued
        poll = asyncio.create_task(bot.get_updates(timeout=20))
        await emu.wait_until_polling()
        await bot.get_updates(timeout=0)
        with pytest.raises(Conflict):
            await asyncio.wait_for(poll, 10)
    finally:
        await bot.shutdown()
    bad = [r for r in emu.requests if r.status == 400 and "not modified" not in str(r.response)]
    assert bad == []


def test_public_types_are_plain_dataclasses() -> None:
    user = SimUser(1, "A")
    chat = SimChat(-1, "group", title="G")
    assert user.to_dict() == {"id": 1, "is_bot": False, "first_name": "A"}
    assert chat.to_dict() == {"id": -1, "type": "group", "title": "G"}
    request = RecordedRequest("sendMessage", {"chat_id": "42"}, 200, {"ok": True}, 0.0)
    assert request.chat_id == 42
    with pytest.raises(AttributeError):
        request.method = "x"  # type: ignore[misc]
