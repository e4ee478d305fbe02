"""The item a complaint is about, named from the customer's own words.

The noun after a determiner before the matched term ("the kettle arrived broken" → "broken
kettle") or after it ("a broken kettle"); in Chinese the characters before the term back to a
particle ("收到的水壶是坏的" → "水壶坏了"). ``None`` when the text names no item.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.text import HAN, to_traditional
from bot.core.triage.context import Context, TermHit
from bot.core.triage.matching import Family

__all__ = ["item_summary"]


def item_summary(
    ctx: Context,
    lead: TermHit,
    locale: str,
    counted: Sequence[TermHit],
) -> str | None:
    """What the complaint is about ("broken kettle", "水壶坏了"), from the lead term or a
    labelled term of the same severity; None when no item can be named."""
    units, family = ctx.units, ctx.family
    # the lead term names the problem; a labelled term of the same severity may stand in
    # ("refund" says nothing of the item, "broken" does)
    labelled = [lead] + [h for h in counted if h.term.severity == lead.term.severity]
    hit = next((h for h in labelled if h.term.label), None)
    if hit is None:
        return None
    label = hit.term.label
    if family.cjk:
        span = _item_cjk(units, hit, family)
        if span is None:
            return None
        chars = "".join(ctx.display[span[0] : span[1]])
        return f"{chars}{to_traditional(label) if locale == 'zh-Hant' else label}"
    item = _item_latin(units, hit, family)
    return f"{label} {item}" if item else None


def _item_latin(units: Sequence[str], lead: TermHit, family: Family) -> str | None:
    def usable(word: str) -> bool:
        return word.isalpha() and word not in family.summary_stop

    # "a broken kettle": determiner before the term, a noun right after it
    after = lead.end
    if (
        lead.start > 0
        and units[lead.start - 1] in family.determiners
        and after < len(units)
        and usable(units[after])
    ):
        return units[after]
    # "the kettle arrived broken": the nearest determiner before, in the same clause
    for d in range(lead.start - 1, -1, -1):
        unit = units[d]
        if unit in family.breaks:
            break
        if unit in family.determiners:
            words: list[str] = []
            for w in units[d + 1 : lead.start]:
                if not usable(w) or len(words) == 2:
                    break
                words.append(w)
            if words:
                return " ".join(words)
    return None


def _item_cjk(units: Sequence[str], lead: TermHit, family: Family) -> tuple[int, int] | None:
    """The span of the item's characters before the term, or None."""
    begin = end = lead.start
    while begin > 0:
        unit = units[begin - 1]
        if unit in family.breaks or unit in family.determiners or not HAN.match(unit):
            break
        begin -= 1
    # strip function words at the end ("水壶是" → "水壶") and the start ("收到" …)
    stops = sorted((s for s in family.summary_stop if s), key=len, reverse=True)
    changed = True
    while begin < end and changed:
        changed = False
        item = "".join(units[begin:end])
        for stop in stops:
            if item.endswith(stop):
                end, changed = end - len(stop), True
                break
            if item.startswith(stop):
                begin, changed = begin + len(stop), True
                break
    return (begin, end) if 1 < end - begin <= 8 else None
