"""The dashboard's controls as edits of a scenario, validated by the same code as ``validate``.

Every control maps to one key of the scenario format (docs/scenario-format.md): a strategy edit
appends interventions (and, for a new injection room, housing or OAT service, a service) to the
unedited scenario. The edited scenario is written as TOML and parsed by
:func:`scenelab.scenario.loader.parse_text`, the function behind ``scenelab validate``, so a bad
value gets the very message ``validate`` prints for that file; :func:`control_problems` maps each
problem's key path back to the control that wrote it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from scenelab.scenario import schema as sc
from scenelab.scenario.errors import ScenarioError
from scenelab.scenario.loader import parse_text

# Control groups, in the order their interventions are appended. Each maps the group's fields to
# the scenario key they set (field name == key unless listed in _KEYS).
GROUPS: tuple[str, ...] = (
    "close",
    "reopen",
    "police",
    "expulsion",
    "fine",
    "room",
    "housing",
    "oat",
    "outreach",
)
GROUP_LABELS: dict[str, str] = {
    "close": "Close a place",
    "reopen": "Reopen a place",
    "police": "Police budget and priorities",
    "expulsion": "Expulsion orders",
    "fine": "Fines",
    "room": "Open an injection room",
    "housing": "Housing units",
    "oat": "Opioid agonist treatment (OAT)",
    "outreach": "Outreach",
}
NEW_ROOM_ID = "dashboard_injection_room"
NEW_HOUSING_ID = "dashboard_housing"
NEW_OAT_ID = "dashboard_oat"


@dataclass
class Edited:
    """An edited scenario, or the problems that keep it from being one.

    Attributes:
        text: The edited scenario as TOML (what "Download scenario" gives).
        scenario: The validated scenario (None if there are problems).
        problems: ``validate``'s lines (``file: key.path: message``) by control id; problems in
            no control's keys are under ``""``.
    """

    text: str
    scenario: sc.Scenario | None
    problems: dict[str, list[str]] = field(default_factory=dict)


def _date(value: object) -> object:
    """A date picker's ``YYYY-MM-DD`` as a date; anything else unchanged (validation names it)."""
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10]) if len(value) >= 10 else value
        except ValueError:
            return value
    return value


def _clean(table: Mapping[str, Any]) -> dict[str, Any]:
    """Drop empty values (an empty control is a missing key, as in a file)."""
    return {k: v for k, v in table.items() if v is not None and v != ""}


def _list(value: object) -> object:
    """A multi-choice's value as a list; an empty one as []; anything else as given."""
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple) else value


def _hours(values: Mapping[str, Any]) -> dict[str, Any]:
    return _clean({"from_hour": values.get("from_hour"), "to_hour": values.get("to_hour")})


def _service(scn: sc.Scenario, kind: str) -> sc.Service | None:
    return next((s for s in scn.services if s.kind == kind), None)


class _Builder:
    """Appends interventions and services, remembering which control wrote each key path."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.owners: dict[str, str] = {}  # "interventions[12]" -> group

    def intervention(self, group: str, table: dict[str, Any]) -> None:
        items = self.raw.setdefault("interventions", [])
        self.owners[f"interventions[{len(items)}]"] = group
        items.append(_clean(table))

    def service(self, group: str, table: dict[str, Any]) -> None:
        items = self.raw.setdefault("services", [])
        self.owners[f"services[{len(items)}]"] = group
        items.append(_clean(table))


def _police(b: _Builder, v: Mapping[str, Any]) -> None:
    common = {"start": _date(v.get("start")), "end": _date(v.get("end")), "hours": _hours(v)}
    if v.get("kind") == "police_strategy":
        b.intervention(
            "police",
            {
                "type": "police_strategy",
                **common,
                "officer_hours_per_day": v.get("officer_hours_per_day"),
                "keep_clear": _list(v.get("keep_clear")),
                "tolerated": _list(v.get("tolerated")),
                "lag_days": v.get("lag_days"),
                "max_officers_per_site": v.get("max_officers_per_site"),
            },
        )
    else:
        b.intervention(
            "police",
            {
                "type": "police_plan",
                **common,
                "sites": _list(v.get("sites")),
                "mode": v.get("mode"),
                "officers": v.get("officers"),
            },
        )


def _room(b: _Builder, scn: sc.Scenario, v: Mapping[str, Any]) -> None:
    site = next((s for s in scn.sites if s.id == v.get("site")), None)
    b.service(
        "room",
        {
            "id": NEW_ROOM_ID,
            "name": f"Injection room at {site.name}" if site else "Injection room",
            "kind": "injection_room",
            "lat": site.lat if site else None,
            "lon": site.lon if site else None,
            "booths": v.get("booths"),
            "capacity_injections_per_day": v.get("capacity_injections_per_day"),
            "hours": _hours(v),
            "days": v.get("days"),
            "substances": _list(v.get("substances")),
            "open_at_start": False,
        },
    )
    b.intervention(
        "room", {"type": "open_service", "start": _date(v.get("start")), "service": NEW_ROOM_ID}
    )


def _capacity(b: _Builder, scn: sc.Scenario, group: str, v: Mapping[str, Any]) -> None:
    """Housing units or OAT slots: resize the scenario's service, or open a new one."""
    kind = "housing" if group == "housing" else "oat"
    fields = ("units",) if kind == "housing" else ("slots", "low_threshold")
    existing = _service(scn, kind)
    start = _date(v.get("start"))
    if existing is not None:
        b.intervention(
            group,
            {
                "type": "resize_service",
                "start": start,
                "service": existing.id,
                **{f: v.get(f) for f in fields},
            },
        )
        return
    new_id = NEW_HOUSING_ID if kind == "housing" else NEW_OAT_ID
    table: dict[str, Any] = {
        "id": new_id,
        "name": "Supported housing" if kind == "housing" else "OAT clinic",
        "kind": kind,
        "open_at_start": False,
        **{f: v.get(f) for f in fields},
    }
    if kind == "oat":
        table["waiting_days"] = v.get("waiting_days")
        table["low_threshold_waiting_days"] = v.get("low_threshold_waiting_days")
    b.service(group, table)
    b.intervention(group, {"type": "open_service", "start": start, "service": new_id})


def build_raw(scn: sc.Scenario, edits: Mapping[str, Mapping[str, Any]]) -> tuple[dict, dict]:
    """Return the edited scenario as a raw TOML table and the key paths each control wrote.

    Args:
        scn: The unedited scenario.
        edits: Control values by group (see :data:`GROUPS`); a group applies only if its
            ``on`` value is true. Values are passed on unconverted (except dates), so a wrong type
            is reported by validation as it would be in a file.

    Returns:
        ``(raw, owners)``: the scenario table, and ``{"interventions[k]": group, ...}``.
    """
    raw = scn.model_dump(mode="python", exclude_none=True)
    raw["scenario"]["name"] = f"{scn.name}-edited"[:64]
    raw["scenario"]["title"] = f"{scn.scenario.title} (edited in the dashboard)"
    b = _Builder(raw)
    for group in GROUPS:
        v = edits.get(group) or {}
        if not v.get("on"):
            continue
        if group in ("close", "reopen"):
            kind = "close_site" if group == "close" else "open_site"
            b.intervention(
                group, {"type": kind, "start": _date(v.get("start")), "site": v.get("site")}
            )
        elif group == "police":
            _police(b, v)
        elif group in ("expulsion", "fine"):
            amount = (
                {"duration_hours": v.get("duration_hours")}
                if group == "expulsion"
                else {"amount_nok": v.get("amount_nok")}
            )
            b.intervention(
                group,
                {
                    "type": f"{group}_policy",
                    "start": _date(v.get("start")),
                    "end": _date(v.get("end")),
                    "zone": v.get("zone"),
                    "propensity": v.get("propensity"),
                    **amount,
                },
            )
        elif group == "room":
            _room(b, scn, v)
        elif group in ("housing", "oat"):
            _capacity(b, scn, group, v)
        elif group == "outreach":
            b.intervention(
                "outreach",
                {
                    "type": "outreach",
                    "start": _date(v.get("start")),
                    "end": _date(v.get("end")),
                    "sites": _list(v.get("sites")),
                    "staff": v.get("staff"),
                    "hours": _hours(v),
                },
            )
    return raw, b.owners


def to_toml(raw: Mapping[str, Any]) -> str:
    """Write a raw scenario table as TOML text (values the writer cannot hold become strings).

    A value TOML cannot hold (only possible from a page edit) is written as its text, so the
    validation reports its key like any wrong value in a file.
    """

    def fix(value: object) -> object:
        if isinstance(value, dict):
            return {str(k): fix(v) for k, v in value.items() if v is not None}
        if isinstance(value, list | tuple):
            return [fix(v) for v in value if v is not None]
        if isinstance(value, bool | int | float | str | dt.date):
            return value
        return str(value)

    header = "# Written by scenelab dashboard; check it with: scenelab validate FILE\n"
    return header + tomli_w.dumps(fix(raw))


_INDEXED = re.compile(r"^((?:interventions|services)\[\d+\])(?:\.([a-z_]+))?")


def control_problems(error: ScenarioError, owners: Mapping[str, str]) -> dict[str, list[str]]:
    """Sort ``validate``'s lines by the control they concern.

    A problem at ``interventions[k].field`` (or ``services[k].field``) written by group ``g`` goes
    to control ``g.field`` (``start``, ``officers``, ``hours`` ...); one about the whole entry goes
    to ``g``; every other problem goes to ``""``.
    """
    out: dict[str, list[str]] = {}
    for problem, line in zip(error.problems, error.lines(), strict=True):
        key = ""
        m = _INDEXED.match(problem.path)
        if m and m.group(1) in owners:
            group = owners[m.group(1)]
            key = f"{group}.{m.group(2)}" if m.group(2) else group
        out.setdefault(key, []).append(line)
    return out


def edit(scn: sc.Scenario, edits: Mapping[str, Mapping[str, Any]]) -> Edited:
    """Apply the page's edits to ``scn`` and validate the result as ``scenelab validate`` does.

    Never raises for bad values: every problem comes back in :attr:`Edited.problems`.
    """
    raw, owners = build_raw(scn, edits)
    try:
        text = to_toml(raw)
    except (TypeError, ValueError) as exc:  # defensive: to_toml makes every value writable
        return Edited("", None, {"": [f"cannot write the edited scenario: {exc}"]})
    source = f"{raw['scenario']['name']}.toml"
    folder = None if scn.folder is None else Path(scn.folder)
    try:
        return Edited(text, parse_text(text, source, folder))
    except ScenarioError as exc:
        return Edited(text, None, control_problems(exc, owners))
