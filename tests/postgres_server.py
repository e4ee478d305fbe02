"""A PostgreSQL server for the tests (issue #13): the storage runs on PostgreSQL as well as on
SQLite, and the tests prove it on a real server, never a mock.

Where the server comes from, in order:

1. ``RAPPORT_TEST_POSTGRES_URL`` (for example
   ``postgresql+asyncpg://rapport:rapport@127.0.0.1:5432/postgres``): an existing server; the
   role must be allowed to create databases. CI sets it (``.ci/run`` installs and starts
   Debian's PostgreSQL).
2. Otherwise a throwaway server: ``initdb`` into a temporary directory and ``postgres``
   listening on a Unix socket there only (no TCP port), with durability switched off
   (``fsync=off``: a crash loses the test data, nothing else). The binaries are found on
   ``PATH`` or in Debian's ``/usr/lib/postgresql/<version>/bin``. PostgreSQL refuses to run
   as root, so as root the server runs as the ``postgres`` user (``runuser``).

Every test gets a database of its own, created from a template that already holds the
migrated schema (``CREATE DATABASE … TEMPLATE``), which takes milliseconds.

With ``RAPPORT_REQUIRE_POSTGRES=1`` (CI) a missing server is an error; otherwise the
PostgreSQL variants of the tests are skipped with the reason, so ``make test`` still works
on a machine with Python and make alone.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import NullPool, create_engine, make_url, text
from sqlalchemy.engine import URL

from storage.engine import make_engine
from storage.migrate import upgrade

URL_VARIABLE = "RAPPORT_TEST_POSTGRES_URL"
REQUIRE_VARIABLE = "RAPPORT_REQUIRE_POSTGRES"
TEMPLATE = "rapport_template"
START_TIMEOUT = 30.0
_NOT_DURABLE = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]


SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""For a test of SQLite's own behaviour (its PRAGMAs, its write lock, its file) that takes
the ``database_url`` fixture: SQLite only."""


def stored_utc(stored: object) -> datetime:
    """A time read past the models as an aware UTC datetime: SQLite's naive UTC text or
    PostgreSQL's ``timestamp with time zone``."""
    when = stored if isinstance(stored, datetime) else datetime.fromisoformat(str(stored))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


class NoPostgres(RuntimeError):
    """No server was given and none could be started here."""


@dataclass
class PostgresServer:
    """A reachable server on which the tests may create and drop databases."""

    admin_url: URL
    """The server's maintenance database (``postgres``), for CREATE/DROP DATABASE."""
    _names: Iterator[int]
    _template_ready: bool = False

    @property
    def template(self) -> str:
        """This process's template (each test worker has its own: one shared server, as
        ``RAPPORT_TEST_POSTGRES_URL`` gives, serves several workers at once)."""
        return f"{TEMPLATE}_{os.getpid()}"

    def drop_template(self) -> None:
        """Drops this process's template (synchronously: at the session's end, outside its
        event loop); a server given by URL keeps no leftovers."""
        if not self._template_ready:
            return
        admin = self.admin_url.set(drivername="postgresql+psycopg")
        engine = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))
        finally:
            engine.dispose()
        self._template_ready = False

    def url_of(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    async def fresh_database(self) -> str:
        """The URL of a new database holding the migrated schema and no rows."""
        if not self._template_ready:
            await self._execute(f'DROP DATABASE IF EXISTS "{self.template}"')
            await self._execute(f'CREATE DATABASE "{self.template}"')
            url = self.url_of(self.template)
            engine = make_engine(url)
            try:
                await upgrade(url, engine=engine)
            finally:
                await engine.dispose()
            self._template_ready = True
        name = f"rapport_test_{os.getpid()}_{next(self._names)}"
        await self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return self.url_of(name)

    async def drop(self, url: str) -> None:
        name = make_url(url).database
        await self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def _execute(self, statement: str) -> None:
        engine = make_engine(self.admin_url.render_as_string(hide_password=False))
        try:
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text(statement))
        finally:
            await engine.dispose()


def required() -> bool:
    return os.environ.get(REQUIRE_VARIABLE, "") not in ("", "0")


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """The tests' server for the session (see the module docstring); raises NoPostgres."""
    given = os.environ.get(URL_VARIABLE)
    if given:
        server = PostgresServer(make_url(given).set(database="postgres"), itertools.count())
        try:
            yield server
        finally:
            server.drop_template()
        return
    with throwaway_server() as url:
        yield PostgresServer(url, itertools.count())  # its templates go with it


@contextlib.contextmanager
def throwaway_server(durable: bool = False) -> Iterator[URL]:
    """Starts a PostgreSQL server in a temporary directory, listening on a Unix socket there
    only, and yields the URL of its ``postgres`` database; stops it and deletes it on exit.

    For the tests durability is off (``fsync``, synchronous commit and full-page writes: a
    crash of the machine loses the test data, nothing else). Benchmarks pass ``durable=True``
    to measure the server as production runs it."""
    bin_dir = _binaries()
    if bin_dir is None:
        raise NoPostgres(f"no initdb on PATH or in /usr/lib/postgresql; set {URL_VARIABLE}")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="rapport-pg-"))
    if os.geteuid() == 0:  # PostgreSQL will not run as root
        if shutil.which("runuser") is None:
            raise NoPostgres("running as root without runuser to start PostgreSQL as 'postgres'")
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        root.chmod(0o700)
    data = root / "data"
    log_path = root / "server.log"  # a file, not a pipe: an unread pipe fills and stalls it
    try:
        subprocess.run(
            [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "rapport", "-A", "trust"],
            check=True,
            capture_output=True,
        )
        log_file = log_path.open("wb")
        server = subprocess.Popen(
            [
                *as_user,
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-k",
                str(root),
                "-c",
                "listen_addresses=",
                *([] if durable else _NOT_DURABLE),
                "-c",
                "max_connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
        log_file.close()  # the server has its own copy
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        detail = getattr(exc, "stderr", b"") or b""
        message = f"could not start PostgreSQL: {exc} {detail.decode(errors='replace')}"
        raise NoPostgres(message) from exc
    url = URL.create(
        "postgresql+asyncpg", username="rapport", database="postgres", query={"host": str(root)}
    )
    try:
        _wait_until_ready(
            [str(bin_dir / "pg_isready"), "-h", str(root), "-U", "rapport"], server, log_path
        )
        yield url
    finally:
        _stop(server, data)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


def _stop(server: subprocess.Popen[bytes], data: Path) -> None:
    """Asks the server for a fast shutdown (SIGINT: clients are disconnected, not waited for),
    sent to the postmaster itself: ``runuser``, which started it as root, would pass a
    SIGTERM on, sleep 2 s and then kill it (3 s a stop instead of 0.1 s)."""
    try:
        os.kill(int((data / "postmaster.pid").read_text().split()[0]), signal.SIGINT)
    except (OSError, ValueError, IndexError):
        server.terminate()


def _wait_until_ready(
    ready_check: list[str], server: subprocess.Popen[bytes], log_path: Path
) -> None:
    """Polls ``pg_isready`` (no event loop: the fixture may be set up inside one)."""
    deadline = time.monotonic() + START_TIMEOUT
    while subprocess.run(ready_check, capture_output=True).returncode != 0:
        if server.poll() is not None:
            error = log_path.read_text(errors="replace")
            raise NoPostgres(f"PostgreSQL exited at start: {error.strip()[-500:]}")
        if time.monotonic() > deadline:
            raise NoPostgres("PostgreSQL did not accept connections in time")
        time.sleep(0.1)
