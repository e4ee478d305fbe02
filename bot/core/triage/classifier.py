"""The decision: enquiry or complaint, how severe, and why (SPEC §5).

:class:`Triage` compiles the lexicons once (:mod:`bot.core.triage.matching`) and classifies a
message in a few tens of microseconds: find the terms, decide for each whether it counts
(:mod:`bot.core.triage.context`), score the negativity, pick the severity and category, name the
item (:mod:`bot.core.triage.summary`). The steps are described in :mod:`bot.core.triage`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.core.text import (
    HAN,
    LATIN_WORD,
    cjk_word_edges,
    detect_locale,
    fold_chinese,
    is_common_word,
    latin_units,
    nfkc,
    one_typo_correction,
)
from bot.core.textmodel import TextModel
from bot.core.triage.context import Context, TermHit
from bot.core.triage.matching import BREAK, HYPO, NEG, QUESTION, Family, Hit, build_family
from bot.core.triage.model import (
    Kind,
    Lexicon,
    Severity,
    Signal,
    Term,
    TriageDecision,
    category_rank,
)
from bot.core.triage.summary import item_summary

__all__ = ["Triage"]

#: The learned model's classes: no complaint, then the severities.
_MODEL_CLASSES = ("enquiry", "general", "quality", "major")


def _units(decision: TriageDecision, text: str) -> int:
    """Words (Latin) or Han characters (Chinese) in a message, as its locale reads it."""
    if decision.locale.startswith("zh"):
        return len(HAN.findall(text))
    return len(LATIN_WORD.findall(text))


@dataclass(frozen=True)
class Reading:
    """What the rules read in a message: their decision, and what the model's checks need —
    the positive and negative sentiment words, and whether the message asks a question."""

    decision: TriageDecision
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    question: bool

    @property
    def praise(self) -> bool:
        """Positive words and no negative one."""
        return bool(self.positive) and not self.negative


def _as_enquiry(decision: TriageDecision, signals: tuple[Signal, ...]) -> TriageDecision:
    """``decision`` overruled to an enquiry, with ``signals`` saying why."""
    return replace(
        decision, kind=Kind.ENQUIRY, severity=None, category=None, summary=None, signals=signals
    )


class Triage:
    """Classifies messages with the lexicons of every locale; build once, call often."""

    def __init__(
        self,
        lexicons: Mapping[str, Lexicon],
        *,
        complaint_negativity: float = 0.7,
        negativity_scale: float = 1.5,
        positive_discount: float = 0.5,
        model: TextModel | None = None,
        model_complaint: float = 0.35,
        model_major: float = 0.6,
        model_veto: float = 0.15,
        model_min_units: int = 4,
        model_major_negativity: float = 0.3,
        model_praise_veto: bool = True,
        model_major_veto: float = 0.0,
    ) -> None:
        """``model``: the learned classifier (classes enquiry, general, quality, major); without
        it the rules decide alone. ``model_complaint``: its probability of a complaint at or
        above which a message the rules read as an enquiry is a complaint; ``model_major``: its
        probability of major at or above which a complaint is major; ``model_veto``: its
        probability of a complaint below which a general or quality complaint of the rules is
        an enquiry after all (0 turns the veto off); ``model_min_units``: the fewest words
        (Latin) or characters (Chinese) a message needs before the model alone may make it a
        complaint or raise it to major — on fragments ("my invoice thing", "hmm delivery?") it
        extrapolates from a word or two. ``model_major_negativity``: the negativity from which
        a question shows a problem, so that the model may make it major (see
        :meth:`_combined`). ``model_praise_veto``: the model alone makes no general complaint of
        a message with positive and no negative sentiment words ("Sam was very kind, thank
        you", 服务态度很好). ``model_major_veto``: the model's probability of major below
        which a major term the rules counted does not make the message major ("my solicitor
        needs an invoice", "a fire drill cut our call short"); 0 turns it off."""
        if not 0 < complaint_negativity <= 1:
            raise ValueError("complaint_negativity must be in (0, 1]")
        if not (0 < model_complaint <= 1 and 0 < model_major <= 1):
            raise ValueError("model_complaint and model_major must be in (0, 1]")
        if not 0 <= model_veto < model_complaint:
            raise ValueError("model_veto must be in [0, model_complaint)")
        if not 0 <= model_major_negativity <= 1:
            raise ValueError("model_major_negativity must be in [0, 1]")
        if not 0 <= model_major_veto < model_major:
            raise ValueError("model_major_veto must be in [0, model_major)")
        if model is not None and set(model.classes) != set(_MODEL_CLASSES):
            raise ValueError(f"the triage model's classes must be {', '.join(_MODEL_CLASSES)}")
        self.model = model
        self.model_complaint = model_complaint
        self.model_major = model_major
        self.model_veto = model_veto
        self.model_min_units = model_min_units
        self.model_major_negativity = model_major_negativity
        self.model_praise_veto = model_praise_veto
        self.model_major_veto = model_major_veto
        if negativity_scale <= 0:
            raise ValueError("negativity_scale must be positive")
        self.complaint_negativity = complaint_negativity
        self.negativity_scale = negativity_scale
        self.positive_discount = positive_discount
        chinese = [lex for code, lex in lexicons.items() if code.startswith("zh")]
        latin = [lex for code, lex in lexicons.items() if not code.startswith("zh")]
        self._latin = build_family(latin, cjk=False)
        self._cjk = build_family(chinese, cjk=True)
        self._corrections: dict[str, str] = {}

    # -- public --------------------------------------------------------------------------

    def classify(self, text: str) -> TriageDecision:
        """The decision on one message: the rules', combined with the model's when there is
        one (see :meth:`_combined`)."""
        reading = self._read(text)
        if self.model is None:
            return reading.decision
        return self._combined(reading, self.model.scores(text), text)

    def _combined(self, reading: Reading, p: Mapping[str, float], text: str) -> TriageDecision:
        """Rules and model together. The rules keep what they are precise about: a counted
        major term (a legal threat, an injury) is major unless the model's probability of
        major is under ``model_major_veto`` ("my solicitor needs an invoice": then an enquiry,
        or the likelier lesser severity), and a counted term makes a complaint of its
        severity. The model fills the gaps: a message the rules read as an enquiry is a
        complaint when the model's probability of a complaint reaches
        ``model_complaint`` (severity: the likelier of general and quality), and any complaint
        is major when the model's probability of major reaches ``model_major``. The model may
        also overrule a general or quality term it is sure is no complaint (probability below
        ``model_veto``: "what does the broken-line icon mean", 我想退掉，颜色不太喜欢). Every
        decision names the model's probabilities in a ``model`` signal.

        Two checks keep the model from crying wolf where it guesses:

        * *A neutral question is never major on the model's word.* A question ("can I delete
          my account and all my data", 你们会保存我的哪些个人信息) with no counted complaint
          term, no major term the rules set aside (negated, hypothetical: "再不處理我就提告")
          and negativity below ``model_major_negativity`` is not made major by the model; it
          is a complaint only if the model's general and quality probabilities alone reach
          ``model_complaint`` (``model_major`` signal says why). Statements are left to the
          model: a privacy leak or an account takeover ("a stranger changed the email on my
          account") seldom holds a negative word. ``model_major_negativity`` 0 turns the check
          off (the shipped setting since the sixth step of issue #12: on outside writers'
          messages it cost major recall, docs/triage.md).
        * *Praise is no complaint.* Positive words and no negative ones, and no counted term:
          the model alone makes no general complaint ("Sam was very kind, thank you";
          ``praise`` signal).
        """
        rules = reading.decision
        complaint = 1.0 - p["enquiry"]
        detail = ", ".join(f"{c} {p[c]:.2f}" for c in _MODEL_CLASSES)
        signals = (*rules.signals, Signal("model", f"{complaint:.2f}", detail))
        severity = rules.severity
        if severity is Severity.MAJOR:
            if p["major"] >= self.model_major_veto:
                return replace(rules, signals=signals)
            return self._major_vetoed(rules, p, complaint, signals)
        if severity is not None and complaint < self.model_veto:
            veto = Signal("model_veto", f"{complaint:.2f}", "the model reads no complaint")
            return _as_enquiry(rules, (*signals, veto))
        if _units(rules, text) < self.model_min_units:
            return replace(rules, signals=signals)
        major_allowed = True
        neutral_question = reading.question and not self._problem_shown(reading)
        if p["major"] >= self.model_major and neutral_question:
            major_allowed = False
            blocked = (
                f"a question with no sign of a problem (no complaint term, negativity "
                f"{rules.negativity:.2f} < {self.model_major_negativity:.2f})"
            )
            signals = (*signals, Signal("model_major", f"{p['major']:.2f}", blocked))
        major = major_allowed and p["major"] >= self.model_major
        if severity is None:
            # a blocked question is a complaint only on its general and quality probability
            chance = complaint if major_allowed else p["general"] + p["quality"]
            if chance < self.model_complaint:
                return replace(rules, signals=signals)
            # major only from the threshold: below it, the likelier lesser severity
            likeliest = "major" if major else max(("general", "quality"), key=p.__getitem__)
            if likeliest == "general" and self.model_praise_veto and reading.praise:
                words = ", ".join(reading.positive)
                why = Signal("praise", words, "positive and nothing negative")
                return replace(rules, signals=(*signals, why))
            severity = Severity(likeliest)
        if major:
            severity = Severity.MAJOR
        if severity is rules.severity:
            return replace(rules, signals=signals)
        return replace(rules, kind=Kind.COMPLAINT, severity=severity, signals=signals)

    def _major_vetoed(
        self,
        rules: TriageDecision,
        p: Mapping[str, float],
        complaint: float,
        signals: tuple[Signal, ...],
    ) -> TriageDecision:
        """A major of the rules the model is sure is no major (``model_major_veto``): an
        enquiry when the model's probability of a complaint is under ``model_complaint``,
        else the likelier of general and quality."""
        veto = Signal("model_major_veto", f"{p['major']:.2f}", "the model reads no major")
        if complaint < self.model_complaint:
            return _as_enquiry(rules, (*signals, veto))
        lesser = Severity(max(("general", "quality"), key=p.__getitem__))
        return replace(rules, severity=lesser, signals=(*signals, veto))

    def _problem_shown(self, reading: Reading) -> bool:
        """Whether the rules saw a sign of a problem: a counted complaint term, a major term
        they set aside (a negated or hypothetical threat), or negativity of at least
        ``model_major_negativity``."""
        rules = reading.decision
        if rules.severity is not None or rules.negativity >= self.model_major_negativity:
            return True
        return any(
            s.kind in ("negated", "hypothetical", "context")
            and s.detail.split(",")[0].endswith("/major")
            for s in rules.signals
        )

    def _read(self, text: str) -> Reading:
        """The rules' decision (the steps of :mod:`bot.core.triage`) and what the model's
        checks need."""
        locale = detect_locale(text)
        family = self._cjk if locale.startswith("zh") else self._latin
        if family.cjk:
            units: list[str] = list(fold_chinese(text))
            shown = nfkc(text)  # the customer's own characters, position for position
            display: Sequence[str] = shown if len(shown) == len(units) else units
        else:
            units = [self._correct(u) for u in latin_units(text)]
            display = units
        cues = family.cues.scan(units)
        term_hits = family.terms.scan(units)
        sentiment_hits = family.sentiment.scan(units)
        breaks = sorted(
            [h.start for h in cues if h.payload == BREAK]
            + [i for i, u in enumerate(units) if u in family.breaks]
        )
        ctx = Context(
            units=units,
            display=display,
            family=family,
            negations=[h for h in cues if h.payload == NEG],
            hypotheticals=[h for h in cues if h.payload == HYPO],
            intensifiers=[h for h in cues if isinstance(h.payload, tuple)],
            breaks=breaks,
            covers=[(h.start, h.end) for h in (*term_hits, *sentiment_hits)],
        )
        question = self._is_question(text, units, cues, family)
        hits = self._terms(ctx, term_hits, question)
        negativity, words, positive = self._negativity(text, ctx, sentiment_hits)
        hits = self._in_context(ctx, hits, sentiment_hits, words, question)

        # weak terms (refund, 退款) decide only when nothing stronger was said: "still waiting
        # for my refund" is about the wait, not the product
        counted = [h for h in hits if h.counted and not h.term.weak] or [
            h for h in hits if h.counted
        ]
        signals = [h.signal for h in hits]
        signals.append(Signal("negativity", f"{negativity:.2f}", ", ".join(words)))
        if counted:
            severity = max(h.term.severity for h in counted)
            top = [h for h in counted if h.term.severity == severity]
            category = min((h.term.category for h in top), key=category_rank)
            lead = next(h for h in top if h.term.category == category)
            summary = item_summary(ctx, lead, locale, counted)
            decision = TriageDecision(
                Kind.COMPLAINT, severity, negativity, locale, tuple(signals), category, summary
            )
        elif negativity >= self.complaint_negativity:
            signals.append(Signal("early_warning", f"{negativity:.2f}", "negative sentiment"))
            decision = TriageDecision(
                Kind.COMPLAINT, Severity.GENERAL, negativity, locale, tuple(signals), None, None
            )
        else:
            decision = TriageDecision(
                Kind.ENQUIRY, None, negativity, locale, tuple(signals), None, None
            )
        return Reading(decision, tuple(positive), tuple(words), question)

    # -- steps ---------------------------------------------------------------------------

    def _correct(self, token: str) -> str:
        """A Latin word, or the lexicon word it is one typo of ("brokn" → "broken"): words of
        five letters or more that are not lexicon words and not listed as ``not_typos``."""
        known = self._corrections.get(token)
        if known is not None:
            return known
        fixed = token
        if (
            len(token) >= 5
            and token.isalpha()
            and token not in self._latin.not_typos
            and token not in self._latin.terms.by_first
            and token not in self._latin.known
        ):
            found = one_typo_correction(token, self._latin.vocabulary)
            # never toward a word only major terms use ("suing" from "using", "sparks" from
            # "parks": a false alarm there goes to a manager), and never when the token is
            # itself a common English word (wordfreq), whatever it is one letter away from
            if (
                found is not None
                and found not in self._latin.major_only
                and not is_common_word(token)
            ):
                fixed = found
        if len(self._corrections) < 100_000:
            self._corrections[token] = fixed
        return fixed

    @staticmethod
    def _is_question(text: str, units: Sequence[str], cues: Sequence[Hit], family: Family) -> bool:
        """A question mark anywhere ("hi, how long do refunds take? thanks"); in Chinese a
        question cue anywhere; in English a question word opening any clause ("hi, how long
        …", "thanks. when …")."""
        if "?" in text or "？" in text:
            return True
        if family.cjk:
            return any(h.payload == QUESTION for h in cues)
        return any(
            h.payload == QUESTION and (h.start == 0 or units[h.start - 1] in family.breaks)
            for h in cues
        )

    def _terms(self, ctx: Context, term_hits: Sequence[Hit], question: bool) -> list[TermHit]:
        joiner = "" if ctx.family.cjk else " "
        result: list[TermHit] = []
        for hit in term_hits:
            term = hit.payload
            assert isinstance(term, Term)
            written = joiner.join(ctx.display[hit.start : hit.end])
            multi = len(written) > 2 if ctx.family.cjk else " " in written
            detail = f"{term.category}/{term.severity.value}"
            neg = ctx.negation_before(hit.start)
            if (
                neg is not None
                and term.severity is Severity.MAJOR
                and any(c.end <= neg.start for c in ctx.hypotheticals)
                and ctx.hypothetical(neg.start, neg.end)
            ):
                # a conditional threat: the negation belongs to the condition, not the threat
                # ("if you don't fix this I'll sue")
                neg = None
            if neg is not None:
                cue = joiner.join(ctx.display[neg.start : neg.end])
                signal = Signal("negated", written, f"{detail}, negated by {cue!r}")
            elif term.severity is not Severity.MAJOR and ctx.hypothetical(hit.start, hit.end):
                signal = Signal("hypothetical", written, detail)
            elif term.weak and question:
                signal = Signal("question", written, f"{detail}, weak term in a question")
            else:
                signal = Signal("phrase" if multi else "keyword", written, detail)
                result.append(TermHit(term, hit.start, hit.end, written, True, signal))
                continue
            result.append(TermHit(term, hit.start, hit.end, written, False, signal))
        return result

    def _in_context(
        self,
        ctx: Context,
        hits: list[TermHit],
        sentiment_hits: Sequence[Hit],
        negative_words: Sequence[str],
        question: bool = False,
    ) -> list[TermHit]:
        """Second look at each counted term, now that the whole message is known.

        * *Inside a longer word* (Chinese two-character major terms): 妈的 in 妈妈的, 媒体 in
          多媒体 — the term must start and end on a jieba word boundary. Only short major terms
          are checked: they send a message to a manager and are the ones that hide inside
          longer words; quality terms such as 坏了 sit in verb compounds (摔坏了) that jieba
          glues, and longer terms are specific but jieba may glue their edge to a neighbour
          (这件事发到网上 → 事发).
        * Positive words inside a term (好 in 说好…发货) are not praise; negative words are the
          ones the negativity score counted (a negated positive, "not impressed", is negative).
        * *A-not-A question* (发不发货, 能不能): a term opening with 不 between two equal
          characters is a question form, not a refusal.
        * *Praise* (服务态度很好, 第三次买了，很满意, "third time buying, love it"): a general
          term or a ``repeat`` term in a message with positive and no negative sentiment is
          not counted.
        * *A repeat term in a calm question* ("how many times can I use the code?", "third
          time ordering, do I get a discount?", 第三次在你们家买了，有优惠吗): a ``repeat`` term
          in a question with no negative sentiment word is not counted; it stays a major
          term set aside, so the model may still read the message as major (see
          :meth:`_problem_shown`).
        * *A bare request* (退货，不合适; "exchange it for a bigger size"): weak terms alone
          count only when something negative is said besides the request itself (退货 is
          also a sentiment word; it does not make its own request a complaint).
        """
        spans = [(h.start, h.end) for h in hits]
        outside = [
            h for h in sentiment_hits if not any(s < h.end and h.start < e for s, e in spans)
        ]
        praise = not negative_words and any(
            isinstance(h.payload, tuple) and float(h.payload[0]) > 0 for h in outside
        )
        result: list[TermHit] = []
        for hit in hits:
            reason = ""
            if hit.counted and ctx.family.cjk:
                units = ctx.units
                if hit.term.severity is Severity.MAJOR and hit.end - hit.start <= 2:
                    edges = cjk_word_edges("".join(units))
                    if hit.start not in edges or hit.end not in edges:
                        reason = "inside a longer word"
                if (
                    units[hit.start] == "不"
                    and 0 < hit.start < len(units) - 1
                    and units[hit.start - 1] == units[hit.start + 1]
                ):
                    reason = "A-not-A question"
            if (
                hit.counted
                and not reason
                and praise
                and (hit.term.severity is Severity.GENERAL or hit.term.category == "repeat")
            ):
                reason = "said in praise"
            if (
                hit.counted
                and not reason
                and question
                and not negative_words
                and hit.term.category == "repeat"
            ):
                reason = "a question with nothing negative"
            if reason:
                detail = f"{hit.signal.detail}, {reason}"
                signal = Signal("context", hit.written, detail)
                result.append(TermHit(hit.term, hit.start, hit.end, hit.written, False, signal))
            else:
                result.append(hit)
        strong = any(h.counted and not h.term.weak for h in result)
        weak_spans = [(h.start, h.end) for h in result if h.counted and h.term.weak]
        negative_elsewhere = any(
            isinstance(h.payload, tuple)
            and float(h.payload[0]) < 0
            and not any(s <= h.start and h.end <= e for s, e in weak_spans)
            for h in sentiment_hits
        )
        if strong or negative_elsewhere:
            return result
        return [
            TermHit(
                h.term,
                h.start,
                h.end,
                h.written,
                False,
                Signal("context", h.written, f"{h.signal.detail}, a request with nothing wrong"),
            )
            if h.counted
            else h
            for h in result
        ]

    def _negativity(
        self, text: str, ctx: Context, sentiment_hits: Sequence[Hit]
    ) -> tuple[float, list[str], list[str]]:
        """Negativity 0–1, the negative words behind it and the positive words read."""
        negative = positive = 0.0
        words: list[str] = []
        praise: list[str] = []
        for hit in sentiment_hits:
            payload = hit.payload
            assert isinstance(payload, tuple)
            weight, word = float(payload[0]), str(payload[1])
            factor = 1.0
            for cue in ctx.intensifiers:
                if cue.end <= hit.start and hit.start - cue.end <= 1:
                    assert isinstance(cue.payload, tuple)
                    factor *= float(cue.payload[1])
            if ctx.negation_before(hit.start) is not None:
                weight = -weight if weight > 0 else -weight * 0.5
                word = f"不{word}" if ctx.family.cjk else f"not {word}"
            value = weight * factor
            if value < 0:
                negative -= value
                words.append(word)
            elif value > 0:
                positive += value
                praise.append(word)
        if negative > 0:
            negative += min(text.count("!") + text.count("！"), 3) * 0.2
            if not ctx.family.cjk:
                shouted = sum(1 for w in LATIN_WORD.findall(text) if len(w) >= 3 and w.isupper())
                negative += min(shouted, 3) * 0.2
        raw = max(negative - self.positive_discount * positive, 0.0)
        return round(1.0 - math.exp(-raw / self.negativity_scale), 3), words, praise
