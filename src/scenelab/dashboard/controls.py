"""The strategy controls: one Dash component per key of the scenario format.

Each control has the pattern id ``{"type": "ctl", "group": GROUP, "field": KEY}`` (KEY is the
scenario key it sets, see :mod:`scenelab.dashboard.edits`), and beside it a message area
``{"type": "err", "key": "GROUP.KEY"}`` where ``validate``'s message for that key appears.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dash import dcc, html

from scenelab.dashboard.edits import GROUP_LABELS, GROUPS
from scenelab.scenario import schema as sc

# Fields whose Checklist value (a list) means a boolean.
BOOLEAN_FIELDS = frozenset({"on", "low_threshold"})


def _id(group: str, key: str) -> dict[str, str]:
    return {"type": "ctl", "group": group, "field": key}


def _err(key: str) -> html.Div:
    return html.Div(id={"type": "err", "key": key}, className="err")


def _row(group: str, key: str, label: str, control: Any) -> html.Div:  # noqa: ANN401
    return html.Div(
        [html.Label(label, className="lbl"), control, _err(f"{group}.{key}")], className="row"
    )


def _number(group: str, key: str, label: str, value: float | None, step: float = 1) -> html.Div:
    return _row(
        group,
        key,
        label,
        dcc.Input(
            id=_id(group, key),
            type="number",
            value=value,
            step="any" if step != 1 else 1,
            debounce=True,
        ),
    )


def _date(group: str, key: str, label: str, value: dt.date | None) -> html.Div:
    text = value.isoformat() if value else ""
    return _row(
        group,
        key,
        label,
        dcc.Input(
            id=_id(group, key), type="text", value=text, placeholder="YYYY-MM-DD", debounce=True
        ),
    )


def _choice(
    group: str,
    key: str,
    label: str,
    options: list[tuple[str, str]],
    value: Any,  # noqa: ANN401
    multi: bool = False,
) -> html.Div:
    return _row(
        group,
        key,
        label,
        dcc.Dropdown(
            id=_id(group, key),
            options=[{"label": lab, "value": val} for val, lab in options],
            value=value,
            multi=multi,
            clearable=multi,
        ),
    )


def _flag(group: str, key: str, label: str, value: bool) -> html.Div:
    return html.Div(
        [
            dcc.Checklist(
                id=_id(group, key),
                options=[{"label": f" {label}", "value": "yes"}],
                value=["yes"] if value else [],
            ),
            _err(f"{group}.{key}") if key != "on" else _err(group),
        ],
        className="row",
    )


def _hours(group: str, start: int, end: int) -> list[html.Div]:
    return [
        _number(group, "from_hour", "From hour (0-23)", start),
        _number(group, "to_hour", "To hour (1-24)", end),
        _err(f"{group}.hours"),
    ]


def control_panel(scn: sc.Scenario) -> list[html.Details]:
    """Return the control groups for ``scn`` (places, zones and services from the scenario)."""
    sites = [(s.id, s.name) for s in scn.sites]
    zones = [(z.id, z.name or z.id) for z in scn.zones]
    first_site = sites[0][0]
    first_zone = zones[0][0] if zones else None
    span = (scn.run.end - scn.run.start).days
    when = scn.run.start + dt.timedelta(days=min(30, span))
    oat = next((s for s in scn.services if isinstance(s, sc.Oat)), None)
    housing = next((s for s in scn.services if isinstance(s, sc.Housing)), None)
    fields: dict[str, list[html.Div]] = {
        "close": [
            _choice("close", "site", "Place", sites, first_site),
            _date("close", "start", "On", when),
        ],
        "reopen": [
            _choice("reopen", "site", "Place", sites, first_site),
            _date("reopen", "start", "On", when),
        ],
        "police": [
            _choice(
                "police",
                "kind",
                "How police are deployed",
                [
                    ("police_plan", "Plan: officers at chosen places (police_plan)"),
                    (
                        "police_strategy",
                        "Budget: officer-hours where the scene was seen (police_strategy)",
                    ),
                ],
                "police_plan",
            ),
            _choice("police", "sites", "Places (plan)", sites, [first_site], multi=True),
            _choice(
                "police",
                "mode",
                "Mode (plan)",
                [(m, m.replace("_", " ")) for m in sc.POLICE_MODES],
                "continuous_patrol",
            ),
            _number("police", "officers", "Officers present (plan)", 1.0, 0.1),
            _number("police", "officer_hours_per_day", "Officer-hours per day (budget)", 24, 0.5),
            _choice(
                "police",
                "keep_clear",
                "Zones to keep clear (budget)",
                zones,
                [first_zone] if first_zone else [],
                multi=True,
            ),
            _choice("police", "tolerated", "Tolerated zones (budget)", zones, [], multi=True),
            _number("police", "lag_days", "Days before police see a move (budget)", 1),
            _number(
                "police",
                "max_officers_per_site",
                "Most officers at one place at once (budget; empty: no limit)",
                None,
                0.5,
            ),
            *_hours("police", 8, 22),
            _date("police", "start", "From", when),
            _date("police", "end", "Until (empty: to the end)", None),
        ],
        "expulsion": [
            _choice("expulsion", "zone", "Zone", zones, first_zone),
            _number(
                "expulsion", "propensity", "Share of controls ending in an order (0-1)", 0.3, 0.05
            ),
            _number("expulsion", "duration_hours", "Ban length (hours)", 24),
            _date("expulsion", "start", "From", when),
            _date("expulsion", "end", "Until (empty: to the end)", None),
        ],
        "fine": [
            _choice("fine", "zone", "Zone", zones, first_zone),
            _number("fine", "propensity", "Share of controls ending in a fine (0-1)", 0.1, 0.05),
            _number("fine", "amount_nok", "Fine (NOK)", 3000),
            _date("fine", "start", "From", when),
            _date("fine", "end", "Until (empty: to the end)", None),
        ],
        "room": [
            _choice("room", "site", "At the place (candidate)", sites, first_site),
            _number("room", "booths", "Booths", 4),
            _number("room", "capacity_injections_per_day", "Injections per day", 60),
            *_hours("room", 9, 21),
            _choice(
                "room", "days", "Days", [("all", "every day"), ("weekdays", "weekdays")], "all"
            ),
            _choice(
                "room",
                "substances",
                "Substances its rules admit",
                [(s, s) for s in sc.SUBSTANCES],
                ["opioids", "poly"],
                multi=True,
            ),
            _date("room", "start", "Opens on", when),
        ],
        "housing": [
            _number(
                "housing",
                "units",
                "Housing units"
                + (f" ({housing.name}, now {housing.units})" if housing else " (a new service)"),
                housing.units if housing else 20,
            ),
            _date("housing", "start", "From", when),
        ],
        "oat": [
            _number(
                "oat",
                "slots",
                "OAT slots" + (f" ({oat.name}, now {oat.slots})" if oat else " (a new clinic)"),
                oat.slots if oat else 50,
            ),
            _flag("oat", "low_threshold", "Low-threshold start", bool(oat and oat.low_threshold)),
            *(
                []
                if oat
                else [
                    _number("oat", "waiting_days", "Waiting days", 30),
                    _number("oat", "low_threshold_waiting_days", "Low-threshold waiting days", 2),
                ]
            ),
            _date("oat", "start", "From", when),
        ],
        "outreach": [
            _choice("outreach", "sites", "Places", sites, [first_site], multi=True),
            _number("outreach", "staff", "Workers present", 2, 0.5),
            *_hours("outreach", 10, 18),
            _date("outreach", "start", "From", when),
            _date("outreach", "end", "Until (empty: to the end)", None),
        ],
    }
    return [
        html.Details(
            [
                html.Summary(GROUP_LABELS[g]),
                _flag(g, "on", "apply this change", False),
                *fields[g],
            ],
            id=f"group-{g}",
            className="group",
        )
        for g in GROUPS
    ]


def edits_from(ids: list[dict[str, str]], values: list[Any]) -> dict[str, dict[str, Any]]:
    """Turn the controls' pattern ids and values into the input of ``edits.edit``."""
    out: dict[str, dict[str, Any]] = {}
    for ident, value in zip(ids, values, strict=True):
        key = ident["field"]
        if key in BOOLEAN_FIELDS:
            value = bool(value)
        out.setdefault(ident["group"], {})[key] = value
    return out
