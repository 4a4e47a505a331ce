"""Scenario variants the benchmarks run, written as TOML and parsed by scenelab's own loader.

A variant is made by editing the *data* of a scenario file (``tomllib`` in, :func:`to_toml` out)
rather than its text, so it survives reformatting of the built-in file, and it always goes
through :func:`scenelab.scenario.parse_text`: a benchmark can never run a scenario the validator
would reject.

The docking variant keeps exactly the mechanisms the Mesa reference implements (attendance and
site choice with attractiveness and habit, deterrence memory and reputation, policing with
controls, expulsions, fines, confiscation and custody, injection and overdose, violence at sites)
and switches everything else off in the scenario itself, so both implementations read one file:
no entry or exit, no services, no sellers, no private violence, static housing and treatment.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tomllib
from typing import Any

from scenelab.scenario import Scenario, builtin_text, parse_text

# The docking window: the pre-closure police operation (2014-06-10 to 08-22, 15 action days), the
# closure of Nygardsparken on 2014-08-25 with the expulsion and fine policies that start with it,
# and two months of displacement after it.
DOCK_START = dt.date(2014, 6, 1)
DOCK_END = dt.date(2014, 10, 31)
DOCKING_SOURCE = "bergen_docking.toml"

# Parameters that switch the non-docked mechanisms off (values in canonical units). Rates of
# zero make those processes draw nothing; they are set in the scenario, not passed as overrides,
# so the scenario hash names the variant.
DOCKING_PARAMETERS: dict[str, float] = {
    "rate_entry_per_day": 0.0,
    "rate_exit_per_year": 0.0,
    "rate_exit_occasional_per_year": 0.0,
    "rate_exit_oat_per_year": 0.0,
    "rate_exit_housed_per_year": 0.0,
    "rate_travelling_seller_entry_per_day": 0.0,
    "rate_private_violence_women_per_year": 0.0,
    "rate_private_violence_men_per_year": 0.0,
    "rate_street_violence_per_year": 0.0,
    "rate_oat_application_per_year": 0.0,
    "rate_oat_dropout_per_year": 0.0,
    "rate_housing_application_per_year": 0.0,
    "rate_housing_loss_per_year": 0.0,
    # Site discovery (issue 11) is not in the reference: main scenes known to all, as before.
    "rate_word_of_mouth_per_hour": 0.0,
    "rate_scout_per_hour": 0.0,
    "fam_forget_below": 0.0,
    "main_scenes_known": 1.0,
}


def _value(value: Any) -> str:
    """Return one TOML value: scalars, arrays and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML cannot hold the number {value!r} here")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _body(table: dict[str, Any]) -> list[str]:
    return [f"{key} = {_value(v)}" for key, v in table.items() if v is not None]


def to_toml(data: dict[str, Any]) -> str:
    """Write a scenario's data (as ``tomllib`` reads it) back as TOML text.

    Top-level tables become ``[name]``, lists of tables ``[[name]]``; anything nested deeper is
    written inline, which is all the scenario format uses.
    """

    def is_tables(v: Any) -> bool:
        return isinstance(v, dict) or (
            isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)
        )

    # Plain keys (including empty arrays) must come before the first [table] header.
    lines = _body({k: v for k, v in data.items() if not is_tables(v)})
    for key, value in data.items():
        if isinstance(value, dict):
            lines += ["", f"[{key}]", *_body(value)]
        elif is_tables(value):
            for item in value:
                lines += ["", f"[[{key}]]", *_body(item)]
    return "\n".join(lines).lstrip("\n") + "\n"


def bergen_data() -> dict[str, Any]:
    """Return the built-in Bergen scenario as plain data."""
    return tomllib.loads(builtin_text("bergen"))


def clip_to_window(data: dict[str, Any], start: dt.date, end: dt.date) -> dict[str, Any]:
    """Set a scenario's run window and rewrite its interventions to fit inside it.

    The loader rejects interventions dated outside the window, so: a site closed or reopened
    before ``start`` starts in that state; a timed intervention still in force at ``start``
    starts then (file order is kept, so a later plan still governs a site when two now start on
    the same day); a police operation keeps the number of its action days that fall in the
    window; anything over before ``start`` or starting after ``end`` is dropped.
    """
    from scenelab.model.world import action_days
    from scenelab.scenario import schema as sc

    data["run"]["start"], data["run"]["end"] = start, end
    sites = {s["id"]: s for s in data["sites"]}
    kept = []
    for iv in sorted(data["interventions"], key=lambda x: x["start"]):
        if iv["start"] > end:
            continue
        if iv["start"] >= start:
            kept.append(iv)
            continue
        if iv["type"] in ("close_site", "open_site"):
            sites[iv["site"]]["open_at_start"] = iv["type"] == "open_site"
            continue
        if iv["type"] in ("open_service", "close_service", "resize_service"):
            raise ValueError(f"cannot move service change {iv} into the window; drop services")
        if iv.get("end") is not None and iv["end"] < start:
            continue
        if iv["type"] == "police_operation":
            op = sc.PoliceOperation.model_validate(iv)
            last = iv.get("end") or end
            n_in = sum(start <= d <= min(end, last) for d in action_days(op, last))
            if n_in == 0:
                continue
            iv = {**iv, "action_days": n_in}
        kept.append({**iv, "start": start})
    data["interventions"] = kept
    return data


def docking_data(
    start: dt.date = DOCK_START,
    end: dt.date = DOCK_END,
    initial_people: int | None = None,
) -> dict[str, Any]:
    """Return the docking variant of Bergen as plain data (see the module docstring)."""
    data = bergen_data()
    data["scenario"]["name"] = "bergen_docking"
    data["scenario"]["title"] = "Bergen docking variant (scenelab vs the Mesa reference)"
    pop = data["population"]
    if initial_people is not None:
        pop["initial_people"] = initial_people
    pop["max_people"] = pop["initial_people"]
    sellers = data["sellers"]
    sellers["initial_local"] = 0
    sellers["initial_travelling"] = 0
    sellers["max_sellers"] = 0
    # Services and the police strategy (issue 11) are not in the reference.
    service_types = {"open_service", "close_service", "resize_service", "police_strategy"}
    data["services"] = []
    data["interventions"] = [iv for iv in data["interventions"] if iv["type"] not in service_types]
    clip_to_window(data, start, end)
    data.pop("survey", None)
    data.setdefault("parameters", {}).update(DOCKING_PARAMETERS)
    return data


def docking_text(
    start: dt.date = DOCK_START,
    end: dt.date = DOCK_END,
    initial_people: int | None = None,
) -> str:
    """Return the docking variant of Bergen as TOML text (what worker processes are sent)."""
    return to_toml(docking_data(start, end, initial_people))


def docking_scenario(
    start: dt.date = DOCK_START,
    end: dt.date = DOCK_END,
    initial_people: int | None = None,
) -> Scenario:
    """Return the docking variant of Bergen, validated by scenelab's loader."""
    return parse_text(docking_text(start, end, initial_people), DOCKING_SOURCE)
