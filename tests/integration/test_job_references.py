"""Every job reference named in code and docs resolves to a function a job can be.

Jobs are stored as ``"module:function"`` strings (:mod:`scheduler.jobs`), so renaming a job
function or its module breaks nothing at import time — only the job, when it next runs in
production. This test finds the references where they are written and resolves each:

* in ``bot/``, ``scheduler/`` and ``storage/``: ``*TARGET*`` constants, string arguments of
  ``JobRequest(...)`` and of ``schedule_*(...)`` calls, and references in docstrings;
* in ``README.md`` and ``docs/``: any ``module:function`` naming a module of those packages.

A job target is an ``async def target(runtime, *ids)``: the runtime the process handed to its
scheduler first, then only plain ``int``/``str`` ids.
"""

from __future__ import annotations

import ast
import inspect
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest

from scheduler.jobs import TRAMPOLINE, resolve, run

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "scheduler", "storage")
REFERENCE = re.compile(r"\b((?:bot|scheduler|storage)(?:\.[a-z_]\w*)*):([a-z_][\w.]*\w)")
#: The references every deployment schedules; the scan must find at least these.
KNOWN = {"bot.app.jobs.sla:sweep", "bot.app.jobs.revisit:send", "bot.app.jobs.revisit:sweep"}
ID_TYPES = {int, str}


@dataclass(frozen=True)
class Reference:
    target: str
    where: str


def _docstrings(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(
            node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        ) and (doc := ast.get_docstring(node, clean=False)):
            body = node.body[0]
            found.append((body.lineno, doc))
    return found


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _in_code(path: Path) -> list[Reference]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(REPO)
    texts: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            value = node.value
            if (
                any("TARGET" in name for name in names)
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
            ):
                texts.append((node.lineno, value.value))
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name == "JobRequest" or name.startswith("schedule_"):
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        texts.append((arg.lineno, arg.value))
    texts += _docstrings(tree)
    return [
        Reference(
            f"{m.group(1)}:{m.group(2)}", f"{rel}:{line + text.count(chr(10), 0, m.start())}"
        )
        for line, text in texts
        for m in REFERENCE.finditer(text)
    ]


def _in_docs(path: Path) -> list[Reference]:
    rel = path.relative_to(REPO)
    return [
        Reference(f"{m.group(1)}:{m.group(2)}", f"{rel}:{number}")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for m in REFERENCE.finditer(line)
    ]


def job_references() -> list[Reference]:
    found: list[Reference] = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found += _in_code(path)
    for doc in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        found += _in_docs(doc)
    # The trampoline is what APScheduler stores, not a job; it is checked on its own below.
    return sorted({r for r in found if r.target != TRAMPOLINE}, key=lambda r: (r.where, r.target))


REFERENCES = job_references()


def test_the_scan_finds_the_jobs_the_bot_schedules() -> None:
    assert {r.target for r in REFERENCES} >= KNOWN


def test_the_trampoline_resolves() -> None:
    assert resolve(TRAMPOLINE) is run


def _id_types(annotation: object) -> set[object]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return set(typing.get_args(annotation))
    return {annotation}


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda r: f"{r.target}@{r.where}")
def test_a_job_reference_names_a_job(reference: Reference) -> None:
    function = resolve(reference.target)  # an async def, or UnknownJobTarget saying why
    hints = typing.get_type_hints(function)
    runtime, *rest = inspect.signature(function).parameters.values()
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    assert runtime.kind in positional and runtime.default is inspect.Parameter.empty, (
        f"{reference.where}: {reference.target} must take the runtime first"
    )
    assert runtime.name in hints and isinstance(hints[runtime.name], type), (
        f"{reference.where}: annotate the runtime of {reference.target}"
    )
    for parameter in rest:
        assert parameter.kind in (*positional, inspect.Parameter.VAR_POSITIONAL), (
            f"{reference.where}: {reference.target} takes {parameter.name} by keyword; "
            "a job gets only positional ids"
        )
        assert parameter.default is inspect.Parameter.empty, (
            f"{reference.where}: {reference.target}'s {parameter.name} has a default; "
            "a job gets every id it needs"
        )
        kinds = _id_types(hints.get(parameter.name))
        assert kinds <= ID_TYPES, (
            f"{reference.where}: {reference.target}'s {parameter.name} is {kinds}; "
            "jobs take plain int or str ids"
        )


def test_every_job_takes_the_same_runtime() -> None:
    """One scheduler per process hands every job the same runtime object."""
    runtimes = set()
    for reference in REFERENCES:
        function = resolve(reference.target)
        first = next(iter(inspect.signature(function).parameters))
        runtimes.add(typing.get_type_hints(function).get(first))
    assert len(runtimes) == 1, runtimes
