"""The order of one tick, written down once. ``engine.simulate`` calls the phases in this order."""

from __future__ import annotations

from typing import NamedTuple


class Phase(NamedTuple):
    """One phase of a tick: its module and why it sits where it does."""

    name: str
    module: str
    reason: str


PHASES: tuple[Phase, ...] = (
    Phase("interventions", "interventions",
          "the hour's schedule (closures, police, services) must be in force before anyone acts"),
    Phase("entry_exit", "entry_exit",
          "daily arrivals and departures set who can attend before anyone chooses a site"),
    Phase("site_choice", "site_choice",
          "people choose where to be given last hour's scenes, markets, police and their bans"),
    Phase("sellers", "sellers",
          "sellers follow the customers who just chose, and avoid police reputation"),
    Phase("policing", "policing",
          "officers meet whoever is present now; expelled or arrested people leave before using"),
    Phase("injection", "injection",
          "drug use happens where people ended up, under the police presence of this hour"),
    Phase("violence", "violence",
          "incidents depend on the crowd, market and guardians left after policing"),
    Phase("services", "services",
          "help reaches people where they are; queues for housing and OAT move once a day"),
    Phase("trust_memory", "trust_memory",
          "memories, reputations and attractiveness absorb this hour's events for the next one"),
    Phase("record", "record",
          "outcomes are counted last, so each table row sees the whole hour"),
)  # fmt: skip
