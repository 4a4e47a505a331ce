"""Evaluated strategies in the experiment's DuckDB file: one row per strategy and objective.

Next to the experiment tables (``runs``, ``outcomes``, which hold every replicate run of every
candidate under its run key), a strategy search keeps:

* ``optimizations`` — one row per distinct optimize spec run into the folder (the id leaves out
  ``generations``, ``batch_size`` and ``description``: a longer run of the same search is the
  same search).
* ``strategies`` — one row per evaluated strategy: its lever values, run overrides, the
  candidate scenario's hash and TOML text (what ``--export`` writes), the generation it was first
  proposed in, and whether it meets the constraints.
* ``strategy_objectives`` — per strategy and objective: mean, interval (Student t over the
  replicates, ``conf_level``), sd, n, the per-replicate values and their run keys.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from scenelab.experiments.store import ResultStore

_DDL = (
    """CREATE TABLE IF NOT EXISTS optimizations (
        optimization VARCHAR PRIMARY KEY, name VARCHAR, spec VARCHAR, source_path VARCHAR,
        source_text VARCHAR, base_dir VARCHAR, started_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS strategies (
        optimization VARCHAR, candidate VARCHAR, generation INTEGER, levers VARCHAR,
        overrides VARCHAR, scenario_hash VARCHAR, scenario_text VARCHAR, replicates INTEGER,
        feasible BOOLEAN, stored_at TIMESTAMP, PRIMARY KEY (optimization, candidate))""",
    """CREATE TABLE IF NOT EXISTS strategy_objectives (
        optimization VARCHAR, candidate VARCHAR, objective VARCHAR, outcome VARCHAR,
        sense VARCHAR, mean DOUBLE, low DOUBLE, high DOUBLE, sd DOUBLE, n INTEGER,
        "values" VARCHAR, run_ids VARCHAR, PRIMARY KEY (optimization, candidate, objective))""",
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def ensure_tables(store: ResultStore) -> None:
    """Create the strategy tables if missing.

    Args:
        store: An open, writable store.
    """
    for ddl in _DDL:
        store.con.execute(ddl)


def record_optimization(
    store: ResultStore,
    optimization: str,
    name: str,
    spec: dict[str, Any],
    source_text: str | None,
    source_path: str | None,
    base_dir: str,
) -> None:
    """Remember an optimize spec; a resumed or extended run updates it and its start time.

    Args:
        store: An open, writable store.
        optimization: The spec's id.
        name: Its name.
        spec: The spec as JSON-able data.
        source_text: The file's text, if any.
        source_path: The file, if any.
        base_dir: Folder relative scenario paths resolve against.
    """
    ensure_tables(store)
    store.con.execute(
        "INSERT OR REPLACE INTO optimizations VALUES (?, ?, ?, ?, ?, ?, ?)",
        [optimization, name, json.dumps(spec, sort_keys=True, default=str), source_path,
         source_text, base_dir, _now()],
    )  # fmt: skip


def write_strategies(
    store: ResultStore,
    optimization: str,
    items: Sequence[tuple[Any, int, int, bool, Sequence[dict[str, Any]]]],
) -> None:
    """Store evaluated strategies and their objectives in one transaction (each only once).

    Args:
        store: An open, writable store.
        optimization: The spec's id.
        items: Per strategy ``(candidate, generation first proposed, replicates, feasible,
            objectives)``; each objective a dict with ``objective``, ``outcome``, ``sense``,
            ``mean``, ``low``, ``high``, ``sd``, ``n``, ``values``, ``run_ids``.
    """
    con = store.con
    stored = {
        r[0]
        for r in con.execute(
            "SELECT candidate FROM strategies WHERE optimization = ?", [optimization]
        ).fetchall()
    }
    todo = [it for it in items if it[0].candidate not in stored]
    if not todo:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        for candidate, generation, replicates, feasible, objectives in todo:
            con.execute(
                "INSERT INTO strategies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [optimization, candidate.candidate, generation,
                 json.dumps(candidate.values, sort_keys=True), json.dumps(candidate.overrides),
                 candidate.scenario_hash, candidate.text, replicates, feasible, _now()],
            )  # fmt: skip
            con.executemany(
                "INSERT INTO strategy_objectives VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[optimization, candidate.candidate, ob["objective"], ob["outcome"], ob["sense"],
                  ob["mean"], ob["low"], ob["high"], ob["sd"], ob["n"],
                  json.dumps(ob["values"]), json.dumps(ob["run_ids"])] for ob in objectives],
            )  # fmt: skip
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def latest_optimization(store: ResultStore) -> dict[str, Any]:
    """The most recently started optimization in a folder.

    Args:
        store: An open store.

    Returns:
        Its ``optimizations`` row as a dict (``spec`` parsed).

    Raises:
        LookupError: If the folder holds no strategy search.
    """
    if "optimizations" not in store.tables():
        raise LookupError(f"{store.path}: no strategy search stored here")
    rows = store.query("SELECT * FROM optimizations ORDER BY started_at DESC LIMIT 1")
    if rows.empty:
        raise LookupError(f"{store.path}: no strategy search stored here")
    row = rows.iloc[0].to_dict()
    row["spec"] = json.loads(row["spec"])
    return row


def strategies_frame(store: ResultStore, optimization: str) -> pd.DataFrame:
    """Every stored strategy of one optimization, one row each, objectives as columns.

    Args:
        store: An open store.
        optimization: The spec's id.

    Returns:
        Columns ``candidate``, ``generation``, ``feasible``, ``levers`` (dict),
        ``scenario_hash``, ``scenario_text`` and per objective ``<name>``, ``<name>_low``,
        ``<name>_high``, ``<name>_n``; sorted by candidate.
    """
    strat = store.query(
        "SELECT candidate, generation, feasible, levers, scenario_hash, scenario_text "
        "FROM strategies WHERE optimization = ? ORDER BY candidate",
        [optimization],
    )
    strat["levers"] = strat["levers"].map(json.loads)
    obj = store.query(
        "SELECT candidate, objective, mean, low, high, n FROM strategy_objectives "
        "WHERE optimization = ?",
        [optimization],
    )
    for col, suffix in (("mean", ""), ("low", "_low"), ("high", "_high"), ("n", "_n")):
        wide = obj.pivot(index="candidate", columns="objective", values=col)
        wide.columns = [f"{c}{suffix}" for c in wide.columns]
        strat = strat.join(wide, on="candidate")
    return strat
