"""The storage methods both back ends share: each transaction's SQL and row mapping, once.

`SqlStorage` implements the storage protocols on two runners, `_query` and `_transact`, which
each back end provides with its executor (SQLite's writer thread and readers, PostgreSQL's
pool); a back end overrides only the transactions whose SQL it cannot share, and how it hands
out log indices and inbox sequence numbers (`_claim_indices`, `_claim_seqs`). The methods are
grouped by role, one module each: log.py, consents.py, cases.py, exchanges.py, officers.py,
subjects.py, relations.py.

Work that several PostgreSQL instances may start at once (purging, pruning, announcing overdue
expectations, leasing) takes its rows with `{skip_locked}`, FOR UPDATE SKIP LOCKED there, so
each row is handled by exactly one instance; SQLite's single writer needs no such clause.
"""

from __future__ import annotations

from gateway.store.sql.cases import CaseSql
from gateway.store.sql.consents import ConsentSql
from gateway.store.sql.exchanges import ExchangeSql
from gateway.store.sql.log import LogSql
from gateway.store.sql.officers import OfficerSql
from gateway.store.sql.relations import RelationSql
from gateway.store.sql.subjects import SubjectSql

__all__ = ["SqlStorage"]


class SqlStorage(LogSql, ConsentSql, CaseSql, ExchangeSql, OfficerSql, SubjectSql, RelationSql):
    """Storage written once in SQL; each back end subclasses it with its executor."""
