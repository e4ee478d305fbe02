"""Answering a satisfaction survey (:mod:`bot.core.surveys`): a score pressed, a comment typed.

:func:`answer_survey` records the score in one unit of work with the comment step's dialogue
state and, for a detractor's first answer, an ``nps_followup`` staff task in the supervisors'
chat (:mod:`bot.core.services.task_cards`; once per survey). :func:`comment_on_survey` keeps the
first comment typed within the window; a detractor's comment is also passed to the supervisors'
chat. Each returns what to say; the handlers (:mod:`bot.handlers.surveys`) present it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.core.deps import Deps
from bot.core.messages import Reply
from bot.core.models import Conversation, Customer
from bot.core.ports import UnitOfWork
from bot.core.rating_prompts import clean_comment
from bot.core.services.task_cards import open_task
from bot.core.staff_tasks import StaffTask, TaskKind, task_chat
from bot.core.surveys import Answer, Survey, comment_open, decide, is_detractor

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SurveyOutcome:
    answer: Answer | None
    """None: not this customer's survey (or no such survey)."""
    survey: Survey | None = None


def _name(customer: Customer) -> str:
    return customer.first_name or customer.display_name


async def _follow_up(
    deps: Deps, uow: UnitOfWork, survey: Survey, score: int, now: datetime
) -> None:
    """Opens the detractor's follow-up task (once per survey)."""
    assert survey.id is not None
    found = await uow.engagement.customer_facts(after_id=survey.customer_id - 1, limit=1)
    if not found or found[0].customer_id != survey.customer_id:
        return
    task = StaffTask(
        kind=TaskKind.NPS_FOLLOWUP,
        customer_id=survey.customer_id,
        period=f"survey-{survey.id}",
        chat_id=0,
        opened_at=now,
        reason=f"{survey.rule_id} {survey.period}: score {score}/10",
        rule_id=survey.rule_id,
    )
    await open_task(uow, deps.renderer, deps.policies, task, found[0], now=now)


async def answer_survey(
    deps: Deps,
    customer: Customer,
    survey_id: int,
    score: int,
    then: Conversation | None = None,
) -> SurveyOutcome:
    """Records `score` on the customer's survey as :func:`bot.core.surveys.decide` says; on
    the first answer saves `then` (the comment step) in the same unit of work."""
    now = deps.clock.now()
    policy = deps.policies.surveys
    async with deps.uow() as uow:
        survey = await uow.surveys.get(survey_id)
        if survey is None or survey.customer_id != customer.id:
            return SurveyOutcome(None)
        answer = decide(survey, score, now, policy)
        if answer in (Answer.SAME, Answer.TOO_LATE):
            return SurveyOutcome(answer, survey)
        first = survey.answered_at is None
        await uow.surveys.answer(survey_id, score, survey.answered_at or now)
        if first and then is not None:
            await uow.conversations.save(then)
        if is_detractor(score, policy):
            await _follow_up(deps, uow, survey, score, now)
        await uow.commit()
    survey.score, survey.answered_at = score, survey.answered_at or now
    return SurveyOutcome(answer, survey)


async def comment_on_survey(
    deps: Deps, customer: Customer, survey_id: int | None, text: str
) -> list[Reply] | None:
    """Keeps the customer's comment on their survey while the window is open and ends the
    dialogue; returns the thanks (and a detractor's comment for the supervisors), or None
    when the window has passed (the dialogue is ended: the text is an ordinary message)."""
    now = deps.clock.now()
    policy = deps.policies.surveys
    async with deps.uow() as uow:
        await uow.conversations.clear(customer.chat_id or 0)
        survey = await uow.surveys.get(survey_id) if survey_id is not None else None
        if survey is None or survey.customer_id != customer.id or survey.score is None:
            await uow.commit()
            return None
        if not comment_open(survey, now, policy):
            await uow.commit()
            return None
        comment = clean_comment(text, policy.comment_max_chars)
        kept = comment is not None and await uow.surveys.set_comment(survey.id or 0, comment)
        await uow.commit()
    replies = [Reply("nps.comment_thanks", {"name": _name(customer)})]
    chat = task_chat(deps.policies.staff)
    if kept and comment and chat is not None and is_detractor(survey.score, policy):
        staff = deps.policies.staff
        replies.append(
            Reply(
                "nps.staff_comment",
                {"customer": customer.display_name, "score": survey.score, "text": comment},
                chat_id=chat,
                locale=staff.locale,
                about_customer_id=customer.id,
            )
        )
    return replies
