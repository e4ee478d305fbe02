"""rapport's persistence: the SQL side of the core's ports.

Modules, in the order data flows through them:

* :mod:`storage.engine` — ``make_engine(url)``: the async engine (SQLite WAL tuning);
* :mod:`storage.columns`, :mod:`storage.tables` — the sqlmodel tables and their metadata;
* :mod:`storage.mapping` — rows ⇄ the core's dataclasses;
* :mod:`storage.repositories` — the repository Protocols of :mod:`bot.core.ports`;
* :mod:`storage.uow` — ``SqlUnitOfWork`` and ``SqlUnitOfWorkFactory``, what the composition
  root gives the core;
* :mod:`storage.migrate` and ``storage/migrations`` — alembic, ``await upgrade(url)`` at
  start-up.

Wiring, in the composition root::

    engine = make_engine(settings.database_url)
    await upgrade(settings.database_url)
    uow_factory = SqlUnitOfWorkFactory.from_engine(engine)
    ...
    await engine.dispose()  # at shutdown

Nothing here imports handlers, flows or adapters; the core imports nothing from here.
"""

from importlib import import_module
from typing import Any

__all__ = ["SqlUnitOfWork", "SqlUnitOfWorkFactory", "downgrade", "make_engine", "upgrade"]

_WHERE = {
    "make_engine": "storage.engine",
    "downgrade": "storage.migrate",
    "upgrade": "storage.migrate",
    "SqlUnitOfWork": "storage.uow",
    "SqlUnitOfWorkFactory": "storage.uow",
}


def __getattr__(name: str) -> Any:
    """The names above, imported on first use: importing one light module of the package
    (``storage.crypto``, say) must not load SQLAlchemy, sqlmodel and alembic, which would make
    every ``rapport`` command start slowly."""
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'storage' has no attribute {name!r}")
