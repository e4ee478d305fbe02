"""Tables of the scheduler (:mod:`scheduler`): the job-runner lease.

APScheduler's own job store table, ``apscheduler_jobs``, lives in the same database but is
created and owned by APScheduler (:class:`apscheduler.jobstores.sqlalchemy.SQLAlchemyJobStore`
creates it when the scheduler starts). It is not in :data:`storage.tables.metadata` and has no
migration; :func:`include_object` keeps alembic's autogenerate and the schema test from
reporting it as a table to drop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, String
from sqlmodel import Field

from storage.columns import UTCDateTime
from storage.tables.base import StorageModel

#: The job store table APScheduler creates and manages itself.
APSCHEDULER_JOBS_TABLE = "apscheduler_jobs"

#: Tables in rapport's database that rapport's migrations do not manage.
UNMANAGED_TABLES: frozenset[str] = frozenset({APSCHEDULER_JOBS_TABLE})


class SchedulerLeaseRow(StorageModel, table=True):
    """Who runs the scheduled jobs: one row per lease name, held by one process until
    ``expires_at`` unless renewed (see :mod:`scheduler.lease`)."""

    __tablename__ = "scheduler_lease"

    name: str = Field(sa_column=Column(String(64), primary_key=True, autoincrement=False))
    holder: str = Field(sa_column=Column(String(255), nullable=False))
    acquired_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's ``include_object`` hook: leave :data:`UNMANAGED_TABLES` (and their indexes)
    out of autogenerate and schema comparisons."""
    if type_ == "table":
        return name not in UNMANAGED_TABLES
    table = getattr(obj, "table", None)
    return getattr(table, "name", None) not in UNMANAGED_TABLES
