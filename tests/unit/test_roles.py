"""Who may do what: every staff action against every role, through the real dispatcher.

Each staff route is fed an update from the staff group by a person with each role (and by one
not on the roster); the route may run only where the permission table allows its action, and
every attempt leaves an audit entry.
"""

from __future__ import annotations

import pytest

from bot.core.messages import ChatKind, ContentKind, Incoming, Sender
from bot.core.roles import ALLOWED, Action, Role, can
from bot.core.routing import Audience, Callback, Command, Place, Route, TopicMessage
from bot.core.services.staff import enroll, withdraw
from bot.handlers import desk
from bot.handlers.routes import ROUTES
from tests.unit.conftest import FakeBot

STAFF_GROUP = -100500
STAFF_ROUTES = [r for r in ROUTES if r.audience is Audience.STAFF and r.place is Place.STAFF_GROUP]
PEOPLE = [None, *Role]  # None: someone not on the roster


def staff_update(bot: FakeBot, route: Route, who: Sender) -> Incoming:
    """The update that triggers `route`, pressed or typed in the staff group."""
    match route.trigger:
        case Callback(prefix):
            return bot.incoming(
                who,
                chat_id=STAFF_GROUP,
                chat_kind=ChatKind.SUPERGROUP,
                callback_id=f"cb-{who.id}",
                callback_data=f"{prefix}999:investigating",
                content=ContentKind.CALLBACK,
            )
        case Command(name):
            in_topic = {"thread_id": 4242, "is_topic_message": True} if _in_topic(route) else {}
            return bot.incoming(
                who,
                chat_id=STAFF_GROUP,
                chat_kind=ChatKind.SUPERGROUP,
                text=f"/{name} T-000999 something",
                command=name,
                args="T-000999 something",
                **in_topic,
            )
        case TopicMessage():
            return bot.incoming(
                who,
                chat_id=STAFF_GROUP,
                chat_kind=ChatKind.SUPERGROUP,
                text="we are on it",
                thread_id=4242,
                is_topic_message=True,
            )
    raise AssertionError(f"no staff update for {route.trigger}")


def _in_topic(route: Route) -> bool:
    """A desk route of topic mode: it acts in a ticket's topic."""
    return getattr(route.handler, "__module__", "") == desk.__name__


def test_the_permission_table() -> None:
    assert can(Role.AGENT, Action.TAKE_OVER) and not can(Role.AGENT, Action.REOPEN)
    assert can(Role.SUPERVISOR, Action.REOPEN) and can(Role.SUPERVISOR, Action.REASSIGN)
    assert can(Role.MANAGER, Action.REPORTS) and can(Role.MANAGER, Action.REMEDIATION_PLAN)
    assert ALLOWED[Role.MARKETING] == {Action.CAMPAIGNS, Action.REPORTS, Action.NEWS}
    assert not any(can(None, action) for action in Action)
    # admins work from the command line, may settle any staff task from its card, run
    # campaigns and add news
    assert ALLOWED[Role.ADMIN] == {Action.WORK_TASK, Action.CAMPAIGNS, Action.NEWS}
    # only marketing and admins change the news the playbook carries
    assert [r for r in Role if can(r, Action.NEWS)] == [Role.MARKETING, Role.ADMIN]
    assert can(Role.AGENT, Action.WORK_TASK) and not can(Role.MARKETING, Action.WORK_TASK)


def test_every_staff_route_names_an_action() -> None:
    assert STAFF_ROUTES and all(r.action is not None for r in STAFF_ROUTES)


@pytest.mark.parametrize("route", STAFF_ROUTES, ids=lambda r: r.action.value)
@pytest.mark.parametrize("role", PEOPLE, ids=lambda r: r.value if r else "outsider")
async def test_each_staff_action_for_each_role(
    bot: FakeBot, route: Route, role: Role | None
) -> None:
    bot.configure(staff_chat_id=STAFF_GROUP)
    who = Sender(id=8000 + (list(Role).index(role) if role else 99), first_name="Pat")
    if role is not None:
        async with bot.deps.uow() as uow:
            await enroll(uow, who.id, "Pat", role, bot.clock.now())
            await uow.commit()
    await bot.feed(staff_update(bot, route, who))
    assert route.action is not None
    allowed = can(role, route.action)
    [entry] = bot.uow.store.audits
    assert (entry.telegram_user_id, entry.action, entry.allowed) == (
        who.id,
        route.action.value,
        allowed,
    )
    notice = bot.deps.renderer.render("staff.not_allowed", "en")
    refused = [c for c in bot.messenger.callbacks if c[1] == notice]
    if allowed:
        assert not refused
        if not _in_topic(route):  # a topic of no ticket: silence
            # the handler ran, and answered about the unknown ticket itself
            assert bot.messenger.callbacks or bot.messenger.sent
    elif isinstance(route.trigger, Callback):
        assert refused  # a pressed button is answered with the refusal
    else:
        assert not bot.messenger.sent  # a typed message is simply not acted on


async def test_someone_taken_off_the_roster_can_no_longer_act(bot: FakeBot) -> None:
    bot.configure(staff_chat_id=STAFF_GROUP)
    sam = Sender(id=9001, first_name="Sam")
    async with bot.deps.uow() as uow:
        await enroll(uow, sam.id, "Sam", Role.AGENT, bot.clock.now())
        assert await withdraw(uow, sam.id)
        assert not await withdraw(uow, sam.id)
        await uow.commit()
    route = next(r for r in STAFF_ROUTES if r.action is Action.MOVE_TICKET)
    await bot.feed(staff_update(bot, route, sam))
    assert [a.allowed for a in bot.uow.store.audits] == [False]
