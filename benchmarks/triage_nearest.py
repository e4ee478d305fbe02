"""How close a held-out set's messages come to the training data, and triage's figures on the
part that is far from it (issue #12).

    python -m benchmarks.triage_nearest --set heldout6 [--below 70] [--write-far FILE]

Since the sixth step the training data holds several writers' sets, and every writer since the
fourth held-out set is an AI session: two writers can put a complaint in nearly the same words.
A blind set's figures are then flattered by its near-copies. This prints, for each message of the
set, the similarity of its nearest training text (rapidfuzz ``fuzz.ratio``, 0–100, after folding
case, white space and punctuation, as the held-out sets' overlap tests fold), the spread of those
scores, and the shipped triage's figures on the messages whose nearest training text scores below
``--below`` ("far") and on the rest ("near"). ``--write-far FILE`` writes the far part in the
sets' format (locale → label → messages), so an older checkout can be run on exactly the same
messages: ``python -m benchmarks.understanding_eval --triage-file FILE``.

The training texts are those the shipped model is trained on
(:func:`benchmarks.train_understanding.triage_examples` with the dev half), so the far part is
defined by the newest, largest training data; run the older model on the written file to
compare like with like.
"""

from __future__ import annotations

import argparse
import unicodedata
from collections.abc import Sequence

import numpy as np
import yaml
from rapidfuzz import fuzz, process

from benchmarks.train_understanding import triage_examples
from benchmarks.understanding_eval import (
    TRIAGE_ONLY_HELDOUT,
    TRIAGE_SET,
    Item,
    load_set,
    render_triage,
    triage_figures,
)
from bot.app.settings import LOCALES, Settings
from bot.app.understanding import build_triage

__all__ = ["folded", "nearest_scores"]


def folded(text: str) -> str:
    """Case, white space and punctuation do not make a message new."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] != "P")


def nearest_scores(queries: Sequence[str], corpus: Sequence[str]) -> list[float]:
    """For each query, the ``fuzz.ratio`` of its nearest corpus text, both folded."""
    matrix = process.cdist(
        [folded(q) for q in queries], [folded(c) for c in corpus], scorer=fuzz.ratio, workers=1
    )
    return [float(row.max()) for row in matrix]


def _as_set(items: Sequence[Item]) -> dict[str, dict[str, list[str]]]:
    data: dict[str, dict[str, list[str]]] = {}
    for item in items:
        data.setdefault(item.locale, {}).setdefault(item.label, []).append(item.text)
    return data


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--set", choices=sorted(TRIAGE_ONLY_HELDOUT), required=True)
    parser.add_argument("--below", type=float, default=70.0, help="'far' means nearest < this")
    parser.add_argument("--write-far", help="write the far messages to this yaml file")
    args = parser.parse_args(argv)

    items = load_set(TRIAGE_ONLY_HELDOUT[args.set], all_heldout=True)
    dev = [i for i in load_set(TRIAGE_SET) if i.split == "dev"]
    own = {i.text for i in items}
    corpus = sorted({text for text, _ in triage_examples(dev)} - own)
    scores = np.array(nearest_scores([i.text for i in items], corpus))
    print(f"{args.set}: {len(items)} messages against {len(corpus)} training texts")
    quantiles = np.percentile(scores, [10, 25, 50, 75, 90, 99])
    print(
        "nearest training text, fuzz.ratio percentiles 10/25/50/75/90/99: "
        + " / ".join(f"{q:.0f}" for q in quantiles)
    )
    far = [i for i, s in zip(items, scores, strict=True) if s < args.below]
    near = [i for i, s in zip(items, scores, strict=True) if s >= args.below]
    triage = build_triage(Settings())
    for name, part in ((f"far (< {args.below:g})", far), (f"near (≥ {args.below:g})", near)):
        print(f"\n{name}: {len(part)} messages")
        if not part:
            continue
        figures = {
            locale: triage_figures(triage, [i for i in part if locale in ("all", i.locale)])[0]
            for locale in ("all", *LOCALES)
        }
        print(render_triage(figures))
    if args.write_far:
        with open(args.write_far, "w", encoding="utf-8") as out:
            yaml.safe_dump(_as_set(far), out, allow_unicode=True, sort_keys=False, width=1000)
        print(f"\nwrote the far part to {args.write_far}")


if __name__ == "__main__":
    main()
