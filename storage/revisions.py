"""The revision graph of the migrations shipped with this code, read without alembic.

Every process checks at start-up whether its database is at the code's head, and ``/healthz``
asks on every probe. Building alembic's script directory for that imports alembic (about half
a second on a loaded machine) and every migration module. The graph is just two assignments at
the top of each file in ``migrations/versions/``::

    revision: str = "0023"
    down_revision: str | Sequence[str] | None = "0022"

so this module reads them with :mod:`ast` (no migration code runs). The heads are the
revisions no other revision names as its parent. ``tests/unit/test_revisions.py`` checks the
result against alembic's own reading; a migration file this module cannot read raises
:class:`RevisionFileError` naming it.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

VERSIONS_DIR = Path(__file__).resolve().parent / "migrations" / "versions"


class RevisionFileError(ValueError):
    """A migration file without a readable ``revision``/``down_revision``."""


@dataclass(frozen=True, slots=True)
class RevisionGraph:
    """The shipped migrations: every revision, and the heads (those nothing revises)."""

    known: frozenset[str]
    heads: frozenset[str]


def _parents(value: object, path: Path) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, tuple | list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise RevisionFileError(f"{path}: down_revision must be None, a string or a tuple of them")


def read_revision(path: Path) -> tuple[str, frozenset[str]]:
    """(revision, its parents) of one migration file, from its top-level assignments."""
    values: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets: list[ast.expr] = [node.target]
            value = node.value
        elif isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                try:
                    values[target.id] = ast.literal_eval(value)
                except ValueError as exc:
                    raise RevisionFileError(f"{path}: {target.id} is not a literal") from exc
    revision = values.get("revision")
    if not isinstance(revision, str) or "down_revision" not in values:
        raise RevisionFileError(f"{path}: no revision and down_revision assignments")
    return revision, _parents(values["down_revision"], path)


def read_graph(versions: Path) -> RevisionGraph:
    """The graph of the migration files in the folder `versions`."""
    graph = dict(read_revision(path) for path in sorted(versions.glob("*.py")))
    parents = frozenset().union(*graph.values())
    return RevisionGraph(known=frozenset(graph), heads=frozenset(graph) - parents)


@functools.cache
def shipped_revisions() -> RevisionGraph:
    """The graph of the migrations shipped with this code (read once per process: the files
    do not change under a running bot)."""
    return read_graph(VERSIONS_DIR)
