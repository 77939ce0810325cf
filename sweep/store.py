"""The results of a sweep, in an embedded SQLite file: one row per point, keyed by its digest.

Rows are written by the client as each point finishes, one transaction per row. A point stored
as finished is never written again (the primary key and ``INSERT OR IGNORE``), so a task that
Dask runs twice, or a rerun of the sweep, duplicates nothing; a failed point is replaced when
a rerun finishes it.
"""

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

__all__ = ["OK", "FAILED", "PointRow", "ResultStore", "StoreError"]

OK, FAILED = "ok", "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    digest TEXT PRIMARY KEY,       -- SweepPoint.digest
    name TEXT NOT NULL,
    point TEXT NOT NULL,           -- JSON: config and measurement choice
    status TEXT NOT NULL,          -- 'ok' or 'failed'
    error TEXT,                    -- one line, for a failed point
    rtl_sha256 TEXT,               -- of the generated Verilog
    records TEXT NOT NULL,         -- JSON: stage name -> record
    seconds TEXT NOT NULL          -- JSON: step name -> wall seconds
)"""


class StoreError(RuntimeError):
    """The store file cannot be opened or is not a sweep store (one line)."""


@dataclass(frozen=True)
class PointRow:
    """One stored point (columns as in the schema; JSON columns decoded)."""
    digest: str
    name: str
    point: dict
    status: str
    error: str | None
    rtl_sha256: str | None
    records: dict
    seconds: dict


class ResultStore:
    """The SQLite store at ``path`` (created with its directory if missing)."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path)
            self._db.execute(_SCHEMA)
            self._db.commit()
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"{self.path}: cannot open the sweep store: {error}") from None

    def finished(self):
        """Digests of the points stored as finished (status ``ok``)."""
        return {digest for (digest,) in
                self._db.execute("SELECT digest FROM points WHERE status = ?", (OK,))}

    def put(self, row):
        """Store ``row`` (a :class:`PointRow`) atomically; a point already finished is left as
        it is. Returns True if the row was written."""
        values = (row.digest, row.name, json.dumps(row.point), row.status, row.error,
                  row.rtl_sha256, json.dumps(row.records), json.dumps(row.seconds))
        with self._db:
            self._db.execute("DELETE FROM points WHERE digest = ? AND status = ?",
                             (row.digest, FAILED))
            cursor = self._db.execute("INSERT OR IGNORE INTO points VALUES (?,?,?,?,?,?,?,?)",
                                      values)
        return cursor.rowcount == 1

    def rows(self, digests=None):
        """The stored rows, by name; only those of ``digests`` if given."""
        rows = [PointRow(digest, name, json.loads(point), status, error, sha,
                         json.loads(records), json.loads(seconds))
                for digest, name, point, status, error, sha, records, seconds in
                self._db.execute("SELECT * FROM points ORDER BY name")]
        return [row for row in rows if digests is None or row.digest in digests]

    def close(self):
        self._db.close()
