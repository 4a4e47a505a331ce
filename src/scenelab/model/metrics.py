"""The output-metric registry: every recorded quantity, declared once.

Each :class:`Metric` row says which table it lands in, under which column, in which unit, what it
means, which mechanism records it and whether (and where) it is a harm component. Everything else
is derived from ``METRICS``: the kernel's record positions (``SD`` and ``CD``, read by the kernels
as ``SD["name"]``), the tidy tables' columns (``observe.tables``), the harm components
(``observe.harm``), the named outcomes (``observe.outcomes``) and the ODD's metric tables.

Rows are in table-column order. This module imports no Numba; it lives in ``model`` because the
record positions are compiled into the kernels (the compile cache is keyed by this file).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SITE_DAY = "site_day"
CITY_DAY = "city_day"


@dataclass(frozen=True)
class Metric:
    """One recorded quantity.

    Attributes:
        name: Name in the kernel's record array (``SD``/``CD`` key).
        table: ``site_day`` (per site per day) or ``city_day`` (city-wide per day).
        column: Column in the tidy table.
        unit: Unit of the column.
        meaning: What it counts, in one line (shown in the ODD).
        recorded_by: The mechanism module that records it.
        hourly_mean: The kernel sums it over the day's hours; the table shows the mean (sum / 24).
        integer: The table column is an integer count.
        harm: Position in the composite harm sum (``observe.harm.HARM_COMPONENTS``); None if it is
            not a harm component.
        enforcement: A harm that is a burden of enforcement on the people in the scene.
        label: Human-readable label (report, ODD).
        harm_source: One-line source of the default harm weight (report's methods table).
        summary: Reported per day and per period in the run summary.
        harm_as: For a ``city_day`` count of harm that happens off the scene sites: the harm
            component (a ``site_day`` column) whose weight it carries, so one weight set prices
            each kind of event wherever it happens (``observe.harm.OFF_SCENE_COMPONENTS``).
        harm_excludes: A column counting a subset of this one that carries its own, larger weight
            (sexual violence within violence): the composite weighs this component on the count
            minus that subset, so no event is weighed twice.
    """

    name: str
    table: str
    column: str
    unit: str
    meaning: str
    recorded_by: str
    hourly_mean: bool = False
    integer: bool = True
    harm: int | None = None
    enforcement: bool = False
    label: str = ""
    harm_source: str = ""
    summary: bool = False
    harm_as: str = ""
    harm_excludes: str = ""


def _site(name: str, unit: str, meaning: str, by: str, **kw: object) -> Metric:
    column = str(kw.pop("column", name))
    return Metric(name, SITE_DAY, column, unit, meaning, by, **kw)  # type: ignore[arg-type]


def _city(name: str, meaning: str, by: str, harm_as: str = "") -> Metric:
    return Metric(name, CITY_DAY, name, "count", meaning, by, harm_as=harm_as)


METRICS: tuple[Metric, ...] = (
    _site(
        "person_hours",
        "people",
        "person-hours present (`site_day` reports `people_present`, this / 24)",
        "record",
        column="people_present",
        hourly_mean=True,
        integer=False,
        summary=True,
    ),
    _site(
        "people_present_peak",
        "people",
        "largest head count in any hour of the day",
        "record",
    ),
    _site(
        "seller_hours",
        "sellers",
        "seller-hours present (`site_day` reports `sellers_present`, this / 24)",
        "record",
        column="sellers_present",
        hourly_mean=True,
        integer=False,
    ),
    _site(
        "police_hours",
        "officer-hours",
        "officer-hours present",
        "record",
        integer=False,
    ),
    _site(
        "police_controls",
        "count",
        "controls of people and sellers",
        "policing",
        harm=7,
        enforcement=True,
        label="Police controls",
        harm_source=(
            "Judgement: time, confiscation (Werb et al. 2008), trust (Skogan 2006) [approx]"
        ),
    ),
    _site(
        "expulsions",
        "count",
        "expulsion orders given",
        "policing",
        harm=8,
        enforcement=True,
        label="Expulsion orders",
        harm_source="Judgement: a 24-hour zone ban, at most a day of restricted liberty [approx]",
        summary=True,
    ),
    _site(
        "fines",
        "count",
        "fines given",
        "policing",
        harm=9,
        enforcement=True,
        label="Fines",
        harm_source="CCHI fine conversion: NOK 10,000 / ~NOK 1,400 per low-wage day [approx]",
        summary=True,
    ),
    _site(
        "violence_incidents",
        "count",
        "violent incidents at the site",
        "violence",
        harm=0,
        harm_excludes="sexual_violence_incidents",
        label="Violence",
        harm_source=(
            "Assault occasioning ABH, cat. 2 starting point (26 weeks), E&W Sentencing Council "
            "2011 [M]; CCHI method [approx]. Per incident other than sexual violence, and per "
            "victimisation in a private place"
        ),
        summary=True,
    ),
    _site(
        "sexual_violence_incidents",
        "count",
        "of which sexual violence",
        "violence",
        harm=1,
        label="Sexual violence",
        harm_source=(
            "Rape starting point (5 years; CPS guidance on the 2007 guideline), cat. 3B in the "
            "2014 guideline [M]; CCHI [approx: sexual assault scores lower]. Weighed once, not "
            "on top of violence"
        ),
        summary=True,
    ),
    _site(
        "public_injections",
        "count",
        "public injections at the site",
        "injection",
        harm=4,
        label="Public injections",
        harm_source=(
            "Judgement: exposure of passers-by, discarded syringes (Wood et al. 2004) [approx]."
            " Also per public injection off the scene sites"
        ),
        summary=True,
    ),
    _site(
        "unsafe_injections",
        "count",
        "of which unsafe",
        "injection",
        harm=5,
        label="Unsafe injections",
        harm_source=(
            "Judgement, on top of public injection: infection and injury risk of rushed injection"
            " (Small et al. 2006) [approx]"
        ),
        summary=True,
    ),
    _site(
        "overdoses",
        "count",
        "overdoses of people at the site (including in an injection room)",
        "injection",
        harm=2,
        label="Overdoses (non-fatal)",
        harm_source=(
            "Judgement: acute episode plus a few % risk of lasting hypoxic injury, as days of "
            "healthy life lost [approx]"
        ),
        summary=True,
    ),
    _site(
        "overdose_deaths",
        "count",
        "fatal overdoses at the site",
        "injection",
        harm=3,
        label="Overdose deaths",
        harm_source=(
            "CCHI homicide weight (15 years); below years of life lost (~8,400 discounted, "
            "~14,600 undiscounted days) [approx]"
        ),
        summary=True,
    ),
    _site(
        "nuisance",
        "exposure",
        "exposure of passers-by and residents (section 7.10)",
        "record",
        integer=False,
        harm=6,
        label="Nuisance",
        harm_source=(
            "Judgement: one exposure-weighted person-hour of visible scene = 1/100 of a "
            "public-order offence (band A fine, ~2 harm-days) [approx]"
        ),
        summary=True,
    ),
    _site(
        "sif_injections",
        "count",
        "injections made in an injection room by people coming from the site",
        "injection",
        column="injection_room_injections",
    ),
    _city("population", "people in the scene population (end of day)", "record"),
    _city("occasional", "of whom occasional buyers", "record"),
    _city("sellers_local", "active local sellers", "record"),
    _city("sellers_travelling", "active travelling sellers", "record"),
    _city("entries", "people who joined the population that day", "entry_exit"),
    _city("exits", "people who left it (other than by overdose death)", "entry_exit"),
    _city("housed", "people housed", "record"),
    _city("in_oat", "people in OAT", "record"),
    _city("waiting_oat", "people waiting for OAT", "record"),
    _city(
        "private_violence",
        "violent victimisations in private places (own or others' home, shelter)",
        "violence",
        harm_as="violence_incidents",
    ),
    _city(
        "street_violence",
        "violent victimisations of unhoused people in public places off the scene sites",
        "violence",
        harm_as="violence_incidents",
    ),
    _city(
        "offscene_sexual_violence",
        "of the victimisations off the scene sites (street and private), sexual violence",
        "violence",
        harm_as="sexual_violence_incidents",
    ),
    _city("shelter_violence", "of the private-place victimisations, in a shelter", "violence"),
    _city("victims_women_scene", "victimisations of women at scene sites", "violence"),
    _city(
        "victims_women_street", "victimisations of women on the street, off the sites", "violence"
    ),
    _city("victims_women_private", "victimisations of women in private places", "violence"),
    _city("victims_men_scene", "victimisations of men at scene sites", "violence"),
    _city("victims_men_street", "victimisations of men on the street off the scene", "violence"),
    _city("victims_men_private", "victimisations of men in private places", "violence"),
    _city("violence_by_acquaintance", "victimisations by an acquaintance or partner", "violence"),
    _city("violence_by_client", "victimisations by a sex-trade client", "violence"),
    _city("violence_by_stranger", "victimisations by a stranger", "violence"),
    _city("violence_by_police", "victimisations by the police", "violence"),
    _city(
        "offscene_public_injections",
        "public injections off the scene sites",
        "injection",
        harm_as="public_injections",
    ),
    _city(
        "offscene_overdoses",
        "overdoses off the scene sites",
        "injection",
        harm_as="overdoses",
    ),
    _city(
        "offscene_overdose_deaths",
        "fatal overdoses off the scene sites",
        "injection",
        harm_as="overdose_deaths",
    ),
    _city("sif_injections", "injections in injection rooms", "injection"),
    _city("people_full", "entrants turned away because all people slots were used", "entry_exit"),
)


def metrics(table: str) -> tuple[Metric, ...]:
    """Return the metrics of one table, in column order."""
    return tuple(m for m in METRICS if m.table == table)


#: Record positions the kernels use, ``R.site_day[day, s, SD["name"]]`` and
#: ``R.city_day[day, CD["name"]]`` (frozen into the compiled code as constants).
SD: dict[str, int] = {m.name: i for i, m in enumerate(metrics(SITE_DAY))}
CD: dict[str, int] = {m.name: i for i, m in enumerate(metrics(CITY_DAY))}
#: Harm components in the order the composite sums them.
HARM: tuple[Metric, ...] = tuple(
    sorted((m for m in METRICS if m.harm is not None), key=lambda m: m.harm or 0)
)
#: Harm that happens off the scene sites (``city_day`` counts), each priced as a harm component.
OFF_SCENE_HARM: tuple[Metric, ...] = tuple(m for m in METRICS if m.harm_as)


def _check() -> None:
    for table in (SITE_DAY, CITY_DAY):
        cols = [m.column for m in metrics(table)]
        if len(set(cols)) != len(cols):
            raise ValueError(f"repeated {table} column in METRICS")
    if [m.harm for m in HARM] != list(range(len(HARM))):
        raise ValueError("harm positions must be 0..n-1, each once")
    if any(m.table != SITE_DAY for m in HARM):
        raise ValueError("harm components are site_day columns")
    components = {m.column for m in HARM}
    for m in OFF_SCENE_HARM:
        if m.table != CITY_DAY or m.harm_as not in components:
            raise ValueError(f"{m.name}: harm_as must name a harm component of a site_day column")
    for m in HARM:
        if m.harm_excludes and m.harm_excludes not in components:
            raise ValueError(f"{m.name}: harm_excludes must name a harm component")


_check()


def metrics_recorded(model_dir: Path | None = None) -> dict[tuple[str, str], list[str]]:
    """Return, per ``(table, name)``, the model modules whose source writes it via ``SD``/``CD``.

    Nothing is imported: each ``.py`` file under ``model_dir`` is parsed (``ast``).
    """
    model_dir = model_dir or Path(__file__).parent
    found: dict[tuple[str, str], set[str]] = {}
    tables = {"SD": SITE_DAY, "CD": CITY_DAY}
    for path in sorted(model_dir.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id in tables
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)
            ):
                key = (tables[node.value.id], node.slice.value)
                found.setdefault(key, set()).add(path.stem)
    return {k: sorted(v) for k, v in found.items()}
