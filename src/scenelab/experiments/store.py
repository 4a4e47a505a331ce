"""The results database: one DuckDB file per experiment directory.

Layout (schema version :data:`SCHEMA_VERSION`, kept in ``meta``):

* ``meta(key, value)`` — schema version, creation time, code version.
* ``experiments`` — each experiment spec ever run into this directory.
* ``runs`` — one row per run, primary key ``run_id`` (the deterministic run key), with
  provenance: scenelab version, git revision, model and its options, scenario name/ref/hash,
  parameters (JSON), seed, replicate, worker, start/end times (UTC), status and error.
* ``outcomes(run_id, name, value)`` — named scalar outcomes in long form,
  primary key ``(run_id, name)``.
* tidy tables of each run (``site_day``, ``neighbourhood_month``), created on
  first use from the model's columns, ``run_id`` first.

DuckDB allows one writing process, so only the experiment's client process
opens the file for writing; workers return results and never touch it. Each
run is committed in its own transaction, runs row first: a run is either
wholly stored or not at all, and the ``runs`` primary key means a run is never
stored twice. (The bulk tables carry no primary key of their own — an index
over every site-day of 10^5 runs would not fit in memory; the transaction plus
the ``runs`` key give the same exactly-once guarantee.)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import platform
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

SCHEMA_VERSION = 1
DB_NAME = "experiment.duckdb"
_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
RESERVED_TABLES = frozenset({"meta", "experiments", "runs", "outcomes", "sensitivity"})

_DDL = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
    """CREATE TABLE IF NOT EXISTS experiments (
        experiment_id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        spec JSON NOT NULL,
        source_path VARCHAR,
        source_text VARCHAR,
        first_started_at TIMESTAMP NOT NULL,
        scenelab_version VARCHAR,
        git_revision VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY,
        experiment VARCHAR NOT NULL,
        arm VARCHAR NOT NULL,
        point INTEGER NOT NULL,
        replicate INTEGER NOT NULL,
        seed BIGINT NOT NULL,
        scenario VARCHAR NOT NULL,
        scenario_ref VARCHAR NOT NULL,
        scenario_hash VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        model_config JSON NOT NULL,
        params JSON NOT NULL,
        status VARCHAR NOT NULL,
        error VARCHAR,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        duration_s DOUBLE,
        worker VARCHAR,
        scenelab_version VARCHAR,
        git_revision VARCHAR,
        python_version VARCHAR,
        summary JSON,
        stored_at TIMESTAMP NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS outcomes (
        run_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        value DOUBLE,
        PRIMARY KEY (run_id, name)
    )""",
]

_RUN_COLUMNS = (
    "run_id experiment arm point replicate seed scenario scenario_ref scenario_hash model "
    "model_config params status error started_at finished_at duration_s worker "
    "scenelab_version git_revision python_version summary stored_at"
).split()


class StoreError(RuntimeError):
    """The results database cannot be used (busy, wrong schema version, missing)."""


@dataclass
class StoredRun:
    """Everything the store needs to commit one finished run.

    Attributes:
        run_id: Deterministic run key.
        experiment: Name of the experiment that ran it.
        arm: Arm name.
        point: Design point index (first occurrence).
        replicate: Replicate index.
        seed: Run seed.
        scenario: Scenario name.
        scenario_ref: Scenario as referenced in the file.
        scenario_hash: Scenario content hash.
        model: Model name.
        model_config: Model options that change results.
        params: Parameter overrides (arm overrides and design point).
        status: ``"ok"`` or ``"failed"``.
        error: Error text for failed runs.
        started_at: UTC start time (on the worker).
        finished_at: UTC end time (on the worker).
        worker: ``host:pid`` of the worker process.
        outcomes: Named scalar outcomes.
        tables: Tidy tables to store.
        summary: JSON-able run summary.
    """

    run_id: str
    experiment: str
    arm: str
    point: int
    replicate: int
    seed: int
    scenario: str
    scenario_ref: str
    scenario_hash: str
    model: str
    model_config: Mapping[str, Any]
    params: Mapping[str, float]
    status: str
    error: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    worker: str | None = None
    outcomes: Mapping[str, float] = field(default_factory=dict)
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    summary: Any = None


@functools.cache
def code_provenance() -> dict[str, str | None]:
    """Version of the code doing the runs.

    Returns:
        ``scenelab_version``, ``git_revision`` (``None`` outside a git checkout or
        before the first commit; suffixed ``-dirty`` when tracked files changed)
        and ``python_version``.
    """
    from scenelab.provenance import git_revision, version

    return {
        "scenelab_version": version(),
        "git_revision": git_revision(),
        "python_version": platform.python_version(),
    }


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _quote(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"invalid table or column name {name!r} (use lower_snake_case)")
    return f'"{name}"'


class ResultStore:
    """A results database opened by one process.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        """Open (and for writing, create or migrate-check) a results database.

        Args:
            path: The ``.duckdb`` file.
            read_only: Open for queries only (the file must exist).

        Raises:
            StoreError: If the file is in use by another process, missing (read-only)
                or has another schema version.
        """
        self.path = Path(path)
        if read_only and not self.path.exists():
            raise StoreError(f"{self.path}: no results database here")
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            raise StoreError(
                f"{self.path}: cannot open the results database ({exc}). DuckDB allows one "
                "writing process: is another experiment running into this directory?"
            ) from None
        self.read_only = read_only
        if not read_only:
            for ddl in _DDL:
                self.con.execute(ddl)
            self.con.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?), ('created_at', ?), "
                "('created_by', ?)",
                [
                    str(SCHEMA_VERSION),
                    _utcnow().isoformat(timespec="seconds"),
                    f"scenelab {code_provenance()['scenelab_version']}",
                ],
            )
        row = self._meta("schema_version")
        if row is None or int(row) != SCHEMA_VERSION:
            self.con.close()
            raise StoreError(
                f"{self.path}: schema version {row} but this scenelab writes version "
                f"{SCHEMA_VERSION}; use a new output directory"
            )
        self._columns: dict[str, set[str]] = {}
        self._status_cache: dict[str, str] | None = None

    @classmethod
    def in_dir(cls, out_dir: str | Path, *, read_only: bool = False) -> ResultStore:
        """Open ``DIR/experiment.duckdb``, creating the directory when writing.

        Args:
            out_dir: The experiment directory.
            read_only: Open for queries only.

        Returns:
            The open store.
        """
        out_dir = Path(out_dir)
        if not read_only:
            out_dir.mkdir(parents=True, exist_ok=True)
        return cls(out_dir / DB_NAME, read_only=read_only)

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (committed runs are already durable)."""
        self.con.close()

    def _meta(self, key: str) -> str | None:
        try:
            rows = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        except duckdb.CatalogException:
            return None
        return rows[0][0] if rows else None

    @property
    def schema_version(self) -> int:
        """Schema version stored in ``meta``."""
        return int(self._meta("schema_version") or 0)

    # ------------------------------------------------------------------ reading

    def tables(self) -> list[str]:
        """Names of all tables, sorted.

        Returns:
            Table names.
        """
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run SQL and return a DataFrame.

        Args:
            sql: A query.
            params: Positional parameters for ``?`` placeholders.

        Returns:
            The result.
        """
        return self.con.execute(sql, params or []).df()

    def run_statuses(self) -> dict[str, str]:
        """Status of every stored run.

        Returns:
            ``{run_id: status}`` (a copy).
        """
        return dict(self._statuses())

    def _statuses(self) -> dict[str, str]:
        if self._status_cache is None:
            rows = self.con.execute("SELECT run_id, status FROM runs").fetchall()
            self._status_cache = dict(rows)
        return self._status_cache

    def outcome_values(self, run_ids: Iterable[str], name: str) -> dict[str, float]:
        """One outcome for many runs.

        Args:
            run_ids: Runs to look up.
            name: Outcome name.

        Returns:
            ``{run_id: value}`` for the runs that have it.
        """
        ids = pd.DataFrame({"run_id": list(run_ids)})
        self.con.register("_wanted_ids", ids)
        try:
            rows = self.con.execute(
                "SELECT o.run_id, o.value FROM outcomes o JOIN _wanted_ids w USING (run_id) "
                "WHERE o.name = ?",
                [name],
            ).fetchall()
        finally:
            self._unregister("_wanted_ids")
        return dict(rows)

    def outcome_names(self) -> list[str]:
        """Distinct outcome names stored.

        Returns:
            Sorted names.
        """
        rows = self.con.execute("SELECT DISTINCT name FROM outcomes ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ writing

    def record_experiment(
        self, experiment_id: str, name: str, spec: Mapping[str, Any], source: Path | None
    ) -> None:
        """Remember an experiment spec (once per distinct spec).

        Args:
            experiment_id: Hash of the spec.
            name: Experiment name.
            spec: The spec as JSON-able data.
            source: The file it came from, if any.
        """
        prov = code_provenance()
        text = source.read_text(encoding="utf-8") if source is not None else None
        self.con.execute(
            "INSERT OR IGNORE INTO experiments VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                experiment_id,
                name,
                json.dumps(spec, sort_keys=True, default=str),
                str(source) if source is not None else None,
                text,
                _utcnow(),
                prov["scenelab_version"],
                prov["git_revision"],
            ],
        )

    def write_run(self, run: StoredRun) -> bool:
        """Commit one run, its outcomes and its tables in one transaction.

        A run already stored with status ``ok`` is left alone (returns
        ``False``); a stored failure is replaced.

        Args:
            run: The finished run.

        Returns:
            Whether the run was written.
        """
        prov = code_provenance()
        duration = (
            (run.finished_at - run.started_at).total_seconds()
            if run.started_at and run.finished_at
            else None
        )
        # This process is the only writer, so the cached statuses are exact; the
        # primary key is the backstop.
        previous = self._statuses().get(run.run_id)
        if previous == "ok":
            return False
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            if previous is not None:
                con.execute("DELETE FROM outcomes WHERE run_id = ?", [run.run_id])
                con.execute("DELETE FROM runs WHERE run_id = ?", [run.run_id])
            values = [
                run.run_id,
                run.experiment,
                run.arm,
                run.point,
                run.replicate,
                run.seed,
                run.scenario,
                run.scenario_ref,
                run.scenario_hash,
                run.model,
                json.dumps(dict(run.model_config), sort_keys=True),
                json.dumps(dict(run.params), sort_keys=True),
                run.status,
                run.error,
                run.started_at,
                run.finished_at,
                duration,
                run.worker,
                prov["scenelab_version"],
                prov["git_revision"],
                prov["python_version"],
                json.dumps(run.summary, sort_keys=True, default=str)
                if run.summary is not None
                else None,
                _utcnow(),
            ]
            placeholders = ", ".join("?" * len(_RUN_COLUMNS))
            con.execute(
                f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) VALUES ({placeholders})", values
            )
            if run.outcomes:
                items = list(run.outcomes.items())
                con.execute(
                    "INSERT INTO outcomes VALUES " + ", ".join(["(?, ?, ?)"] * len(items)),
                    [v for name, value in items for v in (run.run_id, name, float(value))],
                )
            for name, table in run.tables.items():
                self._insert_table(name, run.run_id, table)
            con.execute("COMMIT")
        except duckdb.ConstraintException:
            self._rollback()
            self._status_cache = None
            return False
        except (duckdb.InterruptException, RuntimeError) as exc:
            self._rollback()
            # DuckDB turns Ctrl-C during a statement into its own error; give it back.
            if isinstance(exc, duckdb.InterruptException) or "interrupted" in str(exc):
                raise KeyboardInterrupt from exc
            raise
        except BaseException:
            # Also on KeyboardInterrupt: a run is stored wholly or not at all.
            self._rollback()
            raise
        self._statuses()[run.run_id] = run.status
        return True

    def _rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):  # e.g. interrupted before BEGIN completed
            self.con.execute("ROLLBACK")
        # Tables created in the rolled-back transaction are gone again.
        self._columns.clear()

    def _unregister(self, view: str) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.unregister(view)

    def _insert_table(self, name: str, run_id: str, table: pd.DataFrame) -> None:
        if name in RESERVED_TABLES:
            raise ValueError(f"table name {name!r} is reserved")
        if table is None or len(table) == 0:
            return
        frame = table.copy()
        frame = frame.drop(columns=[c for c in ("run_id",) if c in frame.columns])
        frame.insert(0, "run_id", run_id)
        qname = _quote(name)
        cols = self._columns.get(name)
        if cols is None:
            exists = self.con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
            ).fetchall()[0][0]
            if not exists:
                self.con.register("_new_rows", frame)
                try:
                    self.con.execute(f"CREATE TABLE {qname} AS SELECT * FROM _new_rows LIMIT 0")
                finally:
                    self._unregister("_new_rows")
            cols = {
                r[0]
                for r in self.con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                    [name],
                ).fetchall()
            }
            self._columns[name] = cols
        self.con.register("_new_rows", frame)
        try:
            missing = [c for c in frame.columns if c not in cols]
            if missing:
                types = dict(
                    self.con.execute(
                        "SELECT column_name, column_type FROM (DESCRIBE _new_rows)"
                    ).fetchall()
                )
                for col in missing:
                    self.con.execute(f"ALTER TABLE {qname} ADD COLUMN {_quote(col)} {types[col]}")
                    cols.add(col)
            self.con.execute(f"INSERT INTO {qname} BY NAME SELECT * FROM _new_rows")
        finally:
            self._unregister("_new_rows")

    def replace_experiment_rows(self, name: str, frame: pd.DataFrame, experiment: str) -> None:
        """Replace one experiment's rows of a derived table (e.g. ``sensitivity``).

        Args:
            name: Table name (created from ``frame`` if missing).
            frame: New rows; must have an ``experiment`` column.
            experiment: Experiment whose old rows are dropped.
        """
        qname = _quote(name)
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.register("_replacement", frame)
            self.con.execute(
                f"CREATE TABLE IF NOT EXISTS {qname} AS SELECT * FROM _replacement LIMIT 0"
            )
            self.con.execute(f"DELETE FROM {qname} WHERE experiment = ?", [experiment])
            self.con.execute(f"INSERT INTO {qname} BY NAME SELECT * FROM _replacement")
            self.con.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        finally:
            self._unregister("_replacement")


def export_tables(
    out_dir: str | Path,
    *,
    fmt: str = "parquet",
    dest: str | Path | None = None,
    tables: Sequence[str] | None = None,
) -> list[Path]:
    """Export tables of ``DIR/experiment.duckdb`` to Parquet (or CSV) files.

    Args:
        out_dir: The experiment directory.
        fmt: ``"parquet"`` or ``"csv"``.
        dest: Target directory (default ``DIR/<fmt>``).
        tables: Tables to export (default: all).

    Returns:
        The files written, one per table.

    Raises:
        ValueError: For an unknown format or table; the message lists valid choices.
        StoreError: If the database is missing or busy.
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown format {fmt!r}; valid choices: parquet, csv")
    dest = Path(dest) if dest is not None else Path(out_dir) / fmt
    with ResultStore.in_dir(out_dir, read_only=True) as store:
        available = store.tables()
        wanted = list(tables) if tables else available
        unknown = [t for t in wanted if t not in available]
        if unknown:
            raise ValueError(
                f"unknown table(s) {', '.join(unknown)}; valid choices: {', '.join(available)}"
            )
        dest.mkdir(parents=True, exist_ok=True)
        written = []
        for name in wanted:
            path = dest / f"{name}.{fmt}"
            options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
            target = str(path).replace("'", "''")
            store.con.execute(f"COPY (SELECT * FROM {_quote(name)}) TO '{target}' ({options})")
            written.append(path)
    return written
