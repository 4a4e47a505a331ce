"""Strategy levers as decision variables, and each candidate as a concrete scenario edit.

Every lever of an optimize file becomes one or a few real decision variables (the search works
in those); :func:`decode` turns a vector into readable lever values (rounded to ``step``,
integers, choices), and :func:`build_candidate` turns those into the edits a scenario file could
hold, dated ``start``, appended to the base scenario's interventions (ids ``opt_<lever>...``):

=================  ===========================================================================
lever kind          scenario edit
=================  ===========================================================================
police_budget       one ``police_strategy`` per zone (officer-hours/day = budget x share)
expulsion           an ``expulsion_policy`` in the zone with the propensity (none at 0)
fine                a ``fine_policy`` in the zone with the propensity (none at 0)
service_capacity    a ``resize_service`` setting the field
opening_hours       a ``resize_service`` setting ``hours`` to ``from_hour`` + N hours
injection_room      a new ``injection_room`` service at the chosen place, ``open_service``
close_site          a ``close_site`` (or nothing)
parameter           the value in ``[parameters]`` (scenelab) or a run override (toy models)
=================  ===========================================================================

The edited scenario is written as TOML and parsed back with the scenario loader, so every
candidate is validated exactly like a file a user wrote, and its text is what ``--export`` writes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from scenelab.experiments.optimize_spec import INTEGER_FIELDS, OptimizeSpec

NONE = "none"


@dataclass(frozen=True)
class Variable:
    """One decision variable of the search.

    Attributes:
        lever: The lever it belongs to.
        label: Column label (``lever`` or ``lever.part``).
        low: Lower bound.
        high: Upper bound (for choices: the number of choices; the value is floored).
        choices: Labels of a discrete choice, or ``None`` for a number.
    """

    lever: str
    label: str
    low: float
    high: float
    choices: tuple[str, ...] | None = None


def variables(spec: OptimizeSpec) -> list[Variable]:
    """The decision variables of an optimize spec, lever by lever in file order.

    Args:
        spec: The optimize spec.

    Returns:
        The variables.
    """
    out: list[Variable] = []
    for name, lv in spec.levers.items():
        if lv.kind == "police_budget":
            out.append(Variable(name, name, lv.low, lv.high))
            if lv.split and len(lv.areas) > 1:
                out += [Variable(name, f"{name}.weight.{a}", 0.0, 1.0) for a in lv.areas]
        elif lv.kind in ("expulsion", "fine", "service_capacity", "opening_hours", "parameter"):
            out.append(Variable(name, name, lv.low, lv.high))
        elif lv.kind == "injection_room":
            places = tuple(p.id for p in lv.places) + ((NONE,) if lv.allow_none else ())
            out.append(Variable(name, name, 0.0, float(len(places)), places))
            if len(lv.substances) > 1:
                labels = tuple("+".join(s) for s in lv.substances)
                out.append(Variable(name, f"{name}.substances", 0.0, float(len(labels)), labels))
        elif lv.kind == "close_site":
            out.append(Variable(name, name, 0.0, 2.0, ("open", "closed")))
    return out


def _round(value: float, low: float, high: float, step: float | None, integer: bool) -> float:
    value = min(max(value, low), high)
    if step:
        value = min(high, low + round((value - low) / step) * step)
    if integer:
        value = float(round(value))
    return float(round(value, 6))


def decode(spec: OptimizeSpec, x: Any) -> dict[str, Any]:  # noqa: ANN401 - a vector
    """Readable lever values of one decision vector.

    Args:
        spec: The optimize spec.
        x: One value per :func:`variables` entry.

    Returns:
        ``{label: value}``: numbers rounded to the lever's step (integers for integer fields),
        police shares (``lever.share.area``) instead of raw weights, choices as labels.
    """
    values: dict[str, Any] = {}
    weights: dict[str, dict[str, float]] = {}
    for var, raw in zip(variables(spec), x, strict=True):
        lv = spec.levers[var.lever]
        if var.choices is not None:
            values[var.label] = var.choices[min(int(math.floor(raw)), len(var.choices) - 1)]
        elif ".weight." in var.label:
            weights.setdefault(var.lever, {})[var.label.rsplit(".", 1)[1]] = float(raw)
        else:
            integer = (lv.kind == "service_capacity" and lv.field in INTEGER_FIELDS) or (
                lv.kind == "opening_hours"
            )
            values[var.label] = _round(float(raw), var.low, var.high, lv.step, integer)
    for lever, w in weights.items():
        total = sum(max(v, 0.0) for v in w.values())
        for area, v in w.items():
            share = max(v, 0.0) / total if total > 0 else 1.0 / len(w)
            values[f"{lever}.share.{area}"] = round(share, 2)
    return values


def _shares(lever: str, areas: list[str], values: dict[str, Any]) -> dict[str, float]:
    given = {a: values.get(f"{lever}.share.{a}") for a in areas}
    if any(v is None for v in given.values()):
        return {a: 1.0 / len(areas) for a in areas}
    total = sum(given.values()) or 1.0
    return {a: float(v) / total for a, v in given.items()}


def _window(w: Any) -> dict[str, int]:  # noqa: ANN401 - a Window
    return {"from_hour": w.from_hour, "to_hour": w.to_hour}


def edits(spec: OptimizeSpec, values: dict[str, Any]) -> tuple[list[dict], list[dict], dict]:
    """The scenario edits of one candidate.

    Args:
        spec: The optimize spec (``start`` dates every edit).
        values: Lever values from :func:`decode`.

    Returns:
        ``(interventions, services, parameters)`` to add to the base scenario.
    """
    start = spec.optimize.start
    ivs: list[dict] = []
    services: list[dict] = []
    params: dict[str, float] = {}
    for name, lv in spec.levers.items():
        iid = f"opt_{name}"
        if lv.kind == "police_budget":
            budget = float(values[name])
            for area, share in _shares(name, list(lv.areas), values).items():
                hours = round(budget * share, 3)
                if hours > 0:
                    ivs.append(
                        {"type": "police_strategy", "id": f"{iid}_{area}", "start": start,
                         "officer_hours_per_day": hours, "keep_clear": [area],
                         "hours": _window(lv.hours), "lag_days": lv.lag_days}
                    )  # fmt: skip
        elif lv.kind in ("expulsion", "fine"):
            if float(values[name]) > 0:
                iv = {"type": f"{lv.kind}_policy", "id": iid, "start": start, "zone": lv.zone,
                      "propensity": float(values[name])}  # fmt: skip
                if lv.kind == "expulsion":
                    iv["duration_hours"] = lv.duration_hours
                else:
                    iv["amount_nok"] = lv.amount_nok
                ivs.append(iv)
        elif lv.kind == "service_capacity":
            value: float | int = values[name]
            if lv.field in INTEGER_FIELDS:
                value = int(value)
            ivs.append({"type": "resize_service", "id": iid, "start": start,
                        "service": lv.service, lv.field: value})  # fmt: skip
        elif lv.kind == "opening_hours":
            hours = int(values[name])
            if hours >= 24:
                window = {"from_hour": 0, "to_hour": 24}
            else:
                end = lv.from_hour + hours
                window = {"from_hour": lv.from_hour, "to_hour": end if end <= 24 else end - 24}
            ivs.append({"type": "resize_service", "id": iid, "start": start,
                        "service": lv.service, "hours": window})  # fmt: skip
        elif lv.kind == "injection_room":
            place_id = values[name]
            if place_id == NONE:
                continue
            place = next(p for p in lv.places if p.id == place_id)
            label = values.get(f"{name}.substances")
            substances = label.split("+") if label else list(lv.substances[0])
            services.append(
                {"id": place.id, "name": place.name or f"Injection room ({place.id})",
                 "kind": "injection_room", "lat": place.lat, "lon": place.lon,
                 "booths": lv.booths, "capacity_injections_per_day": lv.capacity_injections_per_day,
                 "hours": _window(lv.hours), "days": lv.days, "substances": substances,
                 "open_at_start": False}
            )  # fmt: skip
            ivs.append({"type": "open_service", "id": iid, "start": start, "service": place.id})
        elif lv.kind == "close_site":
            if values[name] == "closed":
                ivs.append({"type": "close_site", "id": iid, "start": start, "site": lv.site})
        elif lv.kind == "parameter":
            params[lv.parameter or name] = float(values[name])
    return ivs, services, params


@dataclass
class Candidate:
    """One evaluated strategy.

    Attributes:
        candidate: Its id (a hash of what it runs: scenario content and overrides).
        values: Lever values.
        overrides: Run overrides (function models; scenelab levers live in the scenario).
        text: The candidate scenario as TOML (scenelab), else ``""``.
        scenario: The validated scenario (scenelab), else ``None``.
        scenario_hash: Its content hash (or the model label's hash).
    """

    candidate: str
    values: dict[str, Any]
    overrides: dict[str, float] = field(default_factory=dict)
    text: str = ""
    scenario: Any = None
    scenario_hash: str = ""


def candidate_id(scenario_hash: str, overrides: dict[str, float]) -> str:
    """The id of a candidate: 12 hex characters over what determines its runs.

    Args:
        scenario_hash: The candidate scenario's content hash.
        overrides: Its run overrides.

    Returns:
        The id.
    """
    blob = json.dumps({"s": scenario_hash, "o": overrides}, sort_keys=True)
    return "c" + hashlib.sha256(blob.encode()).hexdigest()[:11]


def base_raw(base: Any, drop: list[str]) -> dict[str, Any]:  # noqa: ANN401 - a Scenario
    """The base scenario as plain data, without the interventions named in ``drop``.

    Args:
        base: The loaded base scenario.
        drop: Intervention ids to remove (checked by the caller).

    Returns:
        Data that :func:`build_candidate` edits.
    """
    raw = base.model_dump(mode="python", exclude_none=True)
    raw["interventions"] = [iv for iv in raw.get("interventions", []) if iv.get("id") not in drop]
    return raw


def build_candidate(
    spec: OptimizeSpec,
    raw: dict[str, Any] | None,
    values: dict[str, Any],
    folder: str | None = None,
) -> Candidate:
    """Build (and validate) one candidate from lever values.

    Args:
        spec: The optimize spec.
        raw: The base scenario from :func:`base_raw` (``None`` for function models).
        values: Lever values from :func:`decode`.
        folder: The base scenario's folder (for the scenario loader).

    Returns:
        The candidate.

    Raises:
        ScenarioError: If the edited scenario is invalid (e.g. a lever names an unknown site).
    """
    ivs, services, params = edits(spec, values)
    if raw is None:
        label_hash = hashlib.sha256(spec.optimize.model.encode()).hexdigest()
        return Candidate(candidate_id(label_hash, params), values, params, "", None, label_hash)
    import tomli_w

    from scenelab.scenario.loader import parse_text

    data = copy.deepcopy(raw)
    data["interventions"] = list(data.get("interventions", [])) + ivs
    data["services"] = list(data.get("services", [])) + services
    data["parameters"] = {**data.get("parameters", {}), **params}
    if spec.zones:
        data["zones"] = list(data.get("zones", [])) + [
            z.model_dump(exclude_defaults=False) for z in spec.zones
        ]
    data["scenario"] = {
        **data["scenario"],
        "description": f"A strategy from scenelab optimize '{spec.optimize.name}': the base "
        f"scenario with the levers' edits from {spec.optimize.start}.",
    }
    if not data["parameters"]:
        data.pop("parameters")
    text = tomli_w.dumps(data)
    scn = parse_text(text, f"{spec.optimize.name}-candidate.toml", None)
    if folder is not None:
        scn._folder = folder
    return Candidate(candidate_id(scn.scenario_hash, {}), values, {}, text, scn, scn.scenario_hash)
