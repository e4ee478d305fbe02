"""Complaint triage: is a message an enquiry or a complaint, how severe, and why (SPEC §5).

Pure functions over plain data. The keyword and phrase lists live in
``scripts_i18n/<locale>/triage.yaml`` and are loaded by :mod:`bot.app.triage_data` into
:class:`Lexicon` values; this package knows no YAML, no template engine and no framework.

Where the parts live (everything a caller needs is importable from ``bot.core.triage``):

* :mod:`~bot.core.triage.model` — :class:`TriageDecision`, :class:`Kind`, :class:`Severity`,
  :class:`Signal`, :class:`Lexicon`, :class:`Term`, :data:`CATEGORY_ORDER`;
* :mod:`~bot.core.triage.matching` — lexicons compiled into indexes, greedy term matching;
* :mod:`~bot.core.triage.context` — negation and hypothetical scope;
* :mod:`~bot.core.triage.summary` — naming the item complained about;
* :mod:`~bot.core.triage.classifier` — :class:`Triage`, the decision;
* :mod:`~bot.core.triage.priority` — :class:`Priority` from severity and value tier;
* :mod:`bot.core.text` (shared with the FAQ) — folding, Chinese conversion, locale detection,
  token boundaries, typo tolerance.

A third contact about the same open issue raises severity one step: that rule belongs to the
ticket, not the message, and lives in :func:`bot.core.tickets.raise_severity`.

How a message is classified
---------------------------
1. **Locale.** :func:`bot.core.text.detect_locale`: Chinese when Han characters are at least
   half as many as Latin words; Traditional when some characters change under opencc ``t2s``
   and at least as many as change under ``s2t`` (so 台 alone does not make a text Simplified).
2. **Units.** Latin text is cut into word tokens (casefolded, apostrophes dropped so that
   "doesn't" and "doesnt" are one word, punctuation kept as its own token); Chinese text is
   folded to Simplified with opencc and read character by character. The Chinese lexicons
   (zh-Hans and zh-Hant, both folded) form one index, the Latin ones another.
3. **Matching.** Greedy longest match, left to right, of the complaint terms; a term may hold
   a gap (``...``: up to 2 words, or 4 Chinese characters, never across punctuation). English
   words of five letters or more that are one dropped, added or swapped letter away from a
   lexicon word are read as that word ("brokn", "defecitve"), unless listed as ``not_typos``.
4. **Scope.** A term preceded in its clause by a negation cue within ``negation.scope`` units
   ("not broken", "没坏", "不是质量问题") is *negated*: recorded, never counted. A quality or
   general term after a hypothetical cue in its clause ("what if it arrives broken",
   "如果坏了") is *hypothetical*: recorded, not counted (a threat to sue still counts). A
   *weak* term (refund, 退款…) counts only outside a question, so "what is your refund
   policy?" stays an enquiry.
5. **Negativity** 0–1 from the lexicon's sentiment words: negative weights minus half the
   positive ones, scaled by intensifiers and diminishers before the word, flipped by a
   negation cue before it (a negated positive counts as negative, a negated negative as
   mildly positive), plus a little for "!!" and SHOUTED words when something is negative;
   ``negativity = 1 − exp(−raw / scale)``.
6. **Decision.** The highest counted severity wins (major > quality > general); within it the
   category that comes first in the category order. With no counted term, negativity at or
   above ``complaint_negativity`` makes a general complaint ("early warning"); otherwise the
   message is an enquiry with no severity.
7. **Summary.** The item reported, from the text: the noun after a determiner before the
   matched term ("the kettle arrived broken" → "broken kettle") or after it ("a broken
   kettle"); in Chinese the characters before the term back to a particle
   ("收到的水壶是坏的" → "水壶坏了"). ``None`` when the text names no item.
8. **Learned model** (issue #12; optional, shipped in ``scripts_i18n/models/triage.npz``): a
   character-n-gram logistic regression (:mod:`bot.core.textmodel`) gives calibrated
   probabilities of enquiry, general, quality and major. The rules keep what they are precise
   about — a counted major term is major, a counted term makes a complaint — and the model
   fills the gaps the word lists leave: a message the rules read as an enquiry is a complaint
   when the model's probability of a complaint reaches ``model_complaint``, and any complaint is
   major when its probability of major reaches ``model_major`` (both settings). Two checks
   keep it from crying wolf: a neutral question (no complaint term, negativity below
   ``model_major_negativity``) is never major on the model's word — off in the shipped settings
   since the sixth step (``model_major_negativity`` 0: trained on outside writers' messages the
   model tells such questions apart itself) — and praise (positive and no negative words) is
   never a general complaint on it. The probabilities are kept as a
   ``model`` signal. See ``docs/triage.md`` for the figures.

With the shipped lexicons a message takes a few tens of microseconds.
"""

from bot.core.text import detect_locale, fold_chinese, latin_units
from bot.core.triage.classifier import Triage
from bot.core.triage.model import (
    CATEGORY_ORDER,
    Kind,
    Lexicon,
    Severity,
    Signal,
    Term,
    TriageDecision,
)
from bot.core.triage.priority import Priority, priority

__all__ = [
    "CATEGORY_ORDER",
    "Kind",
    "Lexicon",
    "Priority",
    "Severity",
    "Signal",
    "Term",
    "Triage",
    "TriageDecision",
    "detect_locale",
    "fold_chinese",
    "latin_units",
    "priority",
]
