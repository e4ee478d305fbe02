"""`rapport demo`: the real bot, the real framework, the built-in emulator, scripted customers.

Nothing leaves the machine: the bot polls the emulator on 127.0.0.1 with a dummy token and
keeps its data in a temporary SQLite database that is deleted afterwards.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.app.bootstrap import build_services
from bot.app.runner import start_bot
from bot.app.settings import Framework, Settings
from bot.core.roles import Role
from bot.core.services.staff import enroll
from sandbox import Emulator
from sandbox.scenario import (
    Line,
    Persona,
    Press,
    Say,
    SendPhoto,
    Staff,
    StaffPress,
    StaffSay,
    play,
)

DEMO_TOKEN = "123456:DEMO-TOKEN"

PERSONAS: tuple[Persona, ...] = (
    Persona(
        "Alice",
        "en",
        (
            Say("/start"),
            Say("How long does delivery take?"),
            Say("invoice"),
            Press("Yes"),
            Say("Can you engrave my initials on the teapot lid?"),
            Say("the kettle arrived broken, I want a refund"),
            Press("Yes"),
            Say("order 10234"),
            SendPhoto("dented lid"),
            Press("Done"),
            StaffPress("Take over"),
            Say("The lid will not close at all"),
            StaffSay("So sorry, Alice! A new kettle ships today; tracking follows.", reply=True),
            StaffSay("/note refund for the lid approved by Max"),
            StaffSay("/resolve replacement shipped"),
            Say("/status"),
            Say("/language"),
            Press("简体中文"),
        ),
        last_name="Smith",
        username="alice",
    ),
    Persona(
        "王芳",
        "zh-CN",
        (
            Say("/start"),
            Say("我想退货，怎么操作？"),
            Say("发票"),
            Press("是的"),
            Say("收到的水壶是坏的，我要退款"),
            Press("是的"),
            Press("跳过"),
            Press("跳过"),
        ),
    ),
    Persona(
        "陳大文",
        "zh-HK",
        (
            Say("/start"),
            Say("運費怎麼算"),
            Say("水壺壞了，要求退貨"),
            Press("是的"),
            Say("A-5521"),
            Press("完成"),
            Say("我已經找了律師，準備起訴你們，還會向消委會投訴"),
            Say("/status"),
        ),
    ),
)


def demo_settings(
    framework: Framework,
    base_url: str,
    database: Path,
    *,
    token: str = DEMO_TOKEN,
    **overrides: Any,
) -> Settings:
    """Settings for a bot that talks only to the emulator at `base_url` and keeps its data in
    the SQLite file `database`; the e2e tests use them too, with their own overrides."""
    values: dict[str, Any] = {
        "bot_token": token,
        "framework": framework,
        "api_base": base_url,
        "database_url": f"sqlite+aiosqlite:///{database}",
        "polling_timeout": 1,
        "business_name": "Teapot & Co.",
    }
    values.update(overrides)
    return Settings(**values)


async def run_demo(framework: Framework, echo: Callable[[str], None] = print) -> bool:
    """Runs the scripted customers through `framework`; prints the transcript; True if every
    customer got an answer to every step."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rapport-demo-") as folder:
        async with Emulator(token=DEMO_TOKEN) as emu:
            group = emu.add_forum_group("Teapot & Co. — customer care")
            staff = Staff(group, emu.add_user("Sam", username="sam_agent"))
            emu.add_member(group, staff.member)
            settings = demo_settings(
                framework, emu.base_url, Path(folder) / "demo.db", staff_chat_id=group.id
            )
            services = await build_services(settings)
            echo(
                f"rapport demo — {framework} against the built-in Bot API emulator "
                f"at {emu.base_url} (no token, no network)\n"
            )
            async with services.uow() as uow:  # as `rapport staff add <id> --role agent` does
                await enroll(uow, staff.member.id, "Sam", Role.AGENT, services.clock.now())
                await uow.commit()
            bot = await start_bot(services, framework)
            try:

                def show(line: Line) -> None:
                    echo(line.render())

                transcript = await play(
                    emu,
                    PERSONAS,
                    on_line=show,
                    idle=lambda: bot.dispatcher.in_flight == 0,
                    staff=staff,
                )
            finally:
                await bot.stop()
                await services.close()
    bot_lines = len(transcript.bot_texts())
    echo(
        f"\n{bot_lines} bot messages to {len(PERSONAS)} customers "
        f"in {time.monotonic() - started:.1f}s."
    )
    return bot_lines > 0
