"""The migration graph read without alembic (:mod:`storage.revisions`), and the start-up
short cut it allows: a database at the code's head is not handed to alembic."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from alembic.script import ScriptDirectory

from storage import migrate
from storage.migrate import alembic_config, schema_state, upgrade
from storage.revisions import RevisionFileError, read_graph, read_revision, shipped_revisions


def test_the_shipped_graph_is_what_alembic_reads() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    graph = shipped_revisions()
    assert graph.heads == frozenset(script.get_heads())
    assert graph.known == frozenset(r.revision for r in script.walk_revisions())


def migration(folder: Path, revision: str, parents: str) -> None:
    (folder / f"{revision}_x.py").write_text(
        f'"""A migration."""\nrevision: str = "{revision}"\ndown_revision = {parents}\n'
    )


def test_heads_are_the_revisions_nothing_revises(tmp_path: Path) -> None:
    migration(tmp_path, "0001", "None")
    migration(tmp_path, "0002", '"0001"')
    migration(tmp_path, "0003", '"0001"')
    assert read_graph(tmp_path).heads == {"0002", "0003"}
    migration(tmp_path, "0004", '("0002", "0003")')
    graph = read_graph(tmp_path)
    assert graph.heads == {"0004"} and graph.known == {"0001", "0002", "0003", "0004"}


def test_a_migration_file_without_its_revision_is_named(tmp_path: Path) -> None:
    path = tmp_path / "0001_x.py"
    path.write_text("down_revision = None\n")
    with pytest.raises(RevisionFileError, match=r"0001_x\.py"):
        read_revision(path)
    path.write_text('revision = "0001"\ndown_revision = make()\n')
    with pytest.raises(RevisionFileError, match="not a literal"):
        read_revision(path)


async def test_a_database_at_head_is_not_handed_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    runs: list[str] = []
    real = migrate._command

    def counted() -> ModuleType:
        runs.append("alembic")
        return real()

    monkeypatch.setattr(migrate, "_command", counted)
    await upgrade(url)
    assert runs == ["alembic"] and (await schema_state(url)).at_head
    await upgrade(url)
    assert runs == ["alembic"]
