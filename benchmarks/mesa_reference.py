"""A Mesa reference implementation of scenelab's rules, for docking and for speed comparison.

Docking (Axtell et al. 1996): two independent implementations of the same rules, run on the same
inputs, should give the same distributions of outcomes. This one is written the way a competent
Mesa 3 user would write it: one :class:`Person` agent per person and one :class:`Site` agent per
site, behaviour in agent methods, the tick as an ordered list of phases in :meth:`SceneModel.step`,
random numbers from the model's ``random`` (Python's Mersenne Twister) and ``rng`` (NumPy). It
shares no code with scenelab's kernel; it reads only what a scenelab run reads: the compiled
scenario (:func:`scenelab.model.world.compile_world`), the parameter vector
(:func:`scenelab.api.parameter_vector`) and the documented constants (the hour-of-day profile,
the sizes of a person's habit and memory slots).

It covers attendance and site choice (attractiveness that builds and decays, habit, peers,
distance, crowding, perceived police risk from reputation and own memory, concealment, expulsion
zones), reactive raids and police operations, policing encounters (controls, bad/good contacts and
trust, expulsion orders, fines, confiscation, custody), injection (public, unsafe) and overdose,
and violence at sites with victims and witnesses. It does not cover entry and exit, sellers,
services or private violence: :class:`SceneModel` refuses a scenario in which those would act
(use :func:`benchmarks.scenarios.docking_scenario`).

Rules are reproduced as scenelab states them, including the awkward ones: the head-count a site
uses for crowding at injection, for bystanders at an overdose and for built-up attractiveness this
hour is everyone who chose it, including people the police removed earlier in the hour
(``site.count``), while violence counts, and draws victims and witnesses from, those still there.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass
from types import SimpleNamespace

import mesa
import numpy as np
import pandas as pd

from scenelab.api import parameter_vector
from scenelab.model.mechanisms.common import HOUR_PROFILE
from scenelab.model.params import PARAMETERS
from scenelab.model.state import K_KNOWN, M_MEMORY
from scenelab.model.world import (
    MODE_DIALOGUE,
    MODE_NON_ENFORCEMENT,
    MODE_RAIDS,
    compile_world,
)
from scenelab.scenario.schema import Scenario

# Outcomes recorded per site per day, named as scenelab's site_day table names them.
METRICS: tuple[str, ...] = (
    "person_hours",
    "police_hours",
    "police_controls",
    "expulsions",
    "fines",
    "violence_incidents",
    "sexual_violence_incidents",
    "public_injections",
    "unsafe_injections",
    "overdoses",
    "overdose_deaths",
)
_COL = {name: k for k, name in enumerate(METRICS)}

# Processes this implementation leaves out; a scenario must switch them off.
_MUST_BE_ZERO: tuple[str, ...] = (
    "rate_word_of_mouth_per_hour",
    "rate_scout_per_hour",
    "fam_forget_below",
    "b_shelter",
    "rate_entry_per_day",
    "rate_exit_per_year",
    "rate_exit_occasional_per_year",
    "rate_exit_oat_per_year",
    "rate_exit_housed_per_year",
    "rate_travelling_seller_entry_per_day",
    "rate_private_violence_women_per_year",
    "rate_private_violence_men_per_year",
    "rate_street_violence_per_year",
    "rate_oat_application_per_year",
    "rate_oat_dropout_per_year",
    "rate_housing_application_per_year",
    "rate_housing_loss_per_year",
)


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the equirectangular distance in km (scenelab's rule for distances in a city)."""
    dx = (lon2 - lon1) * math.cos(math.radians(0.5 * (lat1 + lat2))) * 111.32
    dy = (lat2 - lat1) * 110.57
    return math.sqrt(dx * dx + dy * dy)


class Site(mesa.Agent):
    """A place where a scene can be: fixed features, this hour's schedule, and built-up state."""

    def __init__(self, model: SceneModel, index: int, zones: frozenset[int]) -> None:
        super().__init__(model)
        w = model.world
        self.index = index
        self.capacity = float(w.site_cap[index])
        self.concealment = float(w.site_conceal[index])
        self.hygiene = float(w.site_hygiene[index])
        self.attractiveness = float(w.site_attr0[index])
        self.footfall = float(w.site_footfall[index])
        self.zones = zones
        self.activity = 0.0  # attractiveness built by use (Short et al.)
        self.reputation = 0.0  # police reputation
        self.smoothed = 0.0  # smoothed head-count that people see
        self.present: list[Person] = []  # everyone who chose the site this hour
        self.count = 0
        self.raid_start = -1
        self.is_open = True
        self.officers = self.guard = self.staff = self.control = 0.0
        self.p_bad = self.p_arrest = 0.0
        self.expel_prob = self.expel_hours = self.fine_prob = self.fine_amount = 0.0
        self.expel_zone = -1

    def draw_raid(self, ep: int) -> None:
        """At midnight: decide whether (and from which hour) a reactive raid hits today."""
        m = self.model
        self.raid_start = -1
        if m.mode[ep][self.index] != MODE_RAIDS or m.raid_ohpd[ep][self.index] <= 0.0:
            return
        p_raid = m.raid_ohpd[ep][self.index] / (m.p.raid_officers * m.raid_hours)
        if self.random.random() < p_raid:
            self.raid_start = self.random.choice(m.raid_hours_open[ep][self.index])

    def apply_schedule(self, ep: int, hour: int) -> None:
        """Set this hour's opening, police, guardianship and expulsion/fine rules."""
        m, p, s = self.model, self.model.p, self.index
        self.is_open = bool(m.site_open[ep][s])
        mode = m.mode[ep][s]
        plan = m.officers[ep][s][hour]
        op = m.op_officers[ep][s][hour]
        raid = 0.0
        if 0 <= self.raid_start <= hour < self.raid_start + m.raid_hours:
            raid = p.raid_officers
        mult, guard, p_bad = 1.0, 1.0, p.p_bad_contact_enforcement
        if mode == MODE_DIALOGUE:
            mult, p_bad = p.mult_control_dialogue, p.p_bad_contact_dialogue
        elif mode == MODE_NON_ENFORCEMENT:
            mult, guard = p.mult_control_non_enforcement, p.guard_non_enforcement
        self.control = p.controls_per_officer_hour * (
            plan * mult + raid * p.mult_control_raids + op * p.mult_control_operation
        )
        self.officers = plan + raid + op
        self.guard = plan * guard + (raid + op) * p.guard_raids
        self.p_bad = p_bad if self.control > 0.0 else 0.0
        if self.control > 0.0 and mode == MODE_DIALOGUE and op > 0.0:
            self.p_bad = p.p_bad_contact_enforcement  # an operation enforces whatever the plan
        self.p_arrest = p.p_arrest_operation if op > 0.0 else p.p_arrest_per_control
        self.staff = m.outreach[ep][s][hour]
        self.expel_prob = m.expel_prop[ep][s]
        self.expel_hours = m.expel_hours[ep][s]
        self.expel_zone = m.expel_zone[ep][s]
        self.fine_prob = m.fine_prop[ep][s]
        self.fine_amount = m.fine_amount[ep][s]

    def police(self) -> None:
        """Officers control people here, up to a capacity that saturates with the crowd."""
        p = self.model.p
        if self.control <= 0.0 or not self.present:
            return
        weights = [
            math.exp(p.b_demeanour_control * x.demeanour) * (p.rel_control_women if x.sex else 1.0)
            for x in self.present
        ]
        w_sum = sum(weights)
        n_eff = len(self.present)
        expected = self.control * n_eff / (n_eff + p.n_half_control)
        events = 0.0
        for person, w in zip(self.present, weights, strict=True):
            if self.random.random() < min(1.0, expected * w / w_sum):
                events += person.be_controlled(self)
        self.reputation += p.k_reputation * p.rate_reputation_decay_per_day * events / n_eff

    def violence(self) -> None:
        """Draw this hour's incidents among the people still here, with victims and witnesses."""
        m, p = self.model, self.model.p
        here = [x for x in self.present if x.site is self]
        if not here:
            return
        n_here = len(here)
        occ = n_here / self.capacity
        lam = p.rate_violence_per_person_hour * n_here * (1.0 + p.k_violence_crowding * occ)
        lam *= 1.0 + p.k_violence_concealment * self.concealment
        lam *= math.exp(-p.k_guard_police * self.guard - p.k_guard_staff * self.staff)
        n_incidents = int(m.rng.poisson(lam))
        if n_incidents == 0:
            return
        near = min(1.0, p.people_in_sight / n_here)  # within sight: violence.p_in_sight
        p_witness = near * max(0.0, 1.0 - p.k_sight_concealment * self.concealment)
        weights = [p.rel_victim_women if x.sex else 1.0 for x in here]
        for _ in range(n_incidents):
            victim = self.random.choices(here, weights=weights)[0]
            m.count(self, "violence_incidents")
            victim.victim_tick = m.t
            victim.n_victim += 1
            if self.random.random() < (p.p_sexual_women if victim.sex else p.p_sexual_men):
                victim.sexual_ever = True
                m.count(self, "sexual_violence_incidents")
            for x in here:
                if x is not victim and self.random.random() < p_witness:
                    x.witness_tick = m.t

    def end_of_hour(self) -> None:
        """Built-up attractiveness, reputation and the smoothed head-count absorb the hour."""
        m, p = self.model, self.model.p
        self.activity = (
            self.activity * m.decay_attr
            + p.rate_attr_gain_per_day / 24.0 * self.count / self.capacity
        )
        self.reputation *= m.decay_rep
        self.smoothed += p.rate_presence_smoothing_per_hour * (self.count - self.smoothed)


class Person(mesa.Agent):
    """A person who uses drugs: where they are, what they know and remember, what happened."""

    def __init__(self, model: SceneModel, home: Site) -> None:
        super().__init__(model)
        pop, r = model.scenario.population, self.random
        mix = pop.substance_mix
        self.sex = 1 if r.random() < pop.share_women else 0
        u = r.random()
        self.substance = 0 if u < mix.opioids else (1 if u < mix.opioids + mix.stimulants else 2)
        self.injects = r.random() < pop.share_injecting
        self.occasional = r.random() < pop.share_occasional
        self.demeanour = r.gauss(0.0, 1.0) - 0.5 * self.sex
        self.housed = r.random() < pop.share_housed
        self.in_oat = r.random() < pop.share_in_oat and self.substance != 1
        self.trust = self.trust0 = min(1.0, max(0.0, r.gauss(pop.trust_mean, pop.trust_sd)))
        self.known: dict[Site, float] = {home: 0.3 if self.occasional else 0.8}
        self.memory: dict[Site, float] = {}
        self.site: Site | None = None
        self.away_until = -1
        self.ban_zone, self.ban_until, self.ban_comply = -1, -1, True
        self.seizure_until = -1
        self.hours_present = self.n_controls = self.n_expulsions = self.n_fines = 0
        self.n_bad = self.n_good = self.n_victim = self.n_overdoses = 0
        self.fines_owed = 0.0
        self.victim_tick = self.witness_tick = -1
        self.sexual_ever = False

    # --- attendance and site choice ---------------------------------------------------------
    def attend(self) -> None:
        """Decide whether to be at a scene this hour, and where."""
        m, p = self.model, self.model.p
        if self.away_until > m.t:
            self.site = None
            return
        current, forced = self.site, False
        if current is not None and not current.is_open:
            current, forced, self.site = None, True, None
        u = self.random.random()
        if current is None and not forced:
            share = (
                p.hours_scene_per_day_occasional
                if self.occasional
                else p.hours_scene_per_day_regular
            )
            if self.housed:
                share *= p.rel_attend_housed
            if self.in_oat:
                share *= p.rel_attend_oat
            f = min(0.9, share / 24.0 * m.hour_profile)
            if u >= m.p_leave * f / (1.0 - f):
                return
            site = self.choose_site(None)
        elif current is not None:
            if u < m.p_leave:
                self.site = None
                return
            site = current
            if self.random.random() < p.p_reconsider_per_hour:
                site = self.choose_site(current)
        else:
            site = self.choose_site(None)
        self.site = site
        if site is not None:
            self.learn(site)
            self.hours_present += 1
            site.present.append(self)

    def choose_site(self, current: Site | None) -> Site | None:
        """Draw a site from the logit over the known sites and the main scenes."""
        m, p = self.model, self.model.p
        candidates = list(self.known)
        candidates += [s for s in m.main if s not in self.known]
        anchor = max(self.known, key=self.known.__getitem__)
        banned = self.ban_zone >= 0 and self.ban_until > m.t
        b_risk = p.b_risk * math.exp(-p.k_risk_demeanour * self.demeanour)
        options: list[tuple[Site, float, bool]] = []
        max_risk = 0.0
        for site in candidates:
            if not site.is_open:
                continue
            in_ban = banned and self.ban_zone in site.zones
            if in_ban and self.ban_comply:
                continue
            risk = p.w_reputation * site.reputation
            risk += (1.0 - p.w_reputation) * self.memory.get(site, 0.0)
            options.append((site, risk, in_ban))
            max_risk = max(max_risk, risk)
        if not options:
            return None
        utility = []
        for site, risk, in_ban in options:
            v = -b_risk * risk
            v += p.b_attr * (site.attractiveness + site.activity)
            v += p.b_peers * math.log1p(site.smoothed)
            v += p.b_footfall * site.footfall
            v += p.b_habit * self.known.get(site, 0.0)
            v += p.b_conceal * site.concealment * max_risk
            v -= p.b_crowd * max(0.0, site.smoothed / site.capacity - 1.0)
            if site is not anchor:
                v -= p.b_dist_per_km * m.distance[anchor.index][site.index]
            if site is current:
                v += p.b_stay
            if in_ban:
                v -= p.b_ban_defy
            utility.append(v)
        top = max(utility)
        weights = [math.exp(v - top) for v in utility]
        return self.random.choices([o[0] for o in options], weights=weights)[0]

    def learn(self, site: Site) -> None:
        """Grow familiarity with a site; a new site pushes out the least familiar one."""
        known = self.known
        if site not in known:
            if len(known) >= K_KNOWN:
                del known[min(known, key=known.__getitem__)]
            known[site] = 0.0
        known[site] += self.model.p.rate_habit_gain_per_hour * (1.0 - known[site])

    # --- policing ------------------------------------------------------------------------------
    def be_controlled(self, site: Site) -> float:
        """Undergo a police control at ``site``; return its weight in deterrence memory."""
        m, p, r = self.model, self.model.p, self.random
        self.n_controls += 1
        m.count(site, "police_controls")
        if r.random() < site.p_bad:
            self.n_bad += 1
            self.trust = max(0.0, self.trust - p.d_trust_bad_contact)
        else:
            self.n_good += 1
            self.trust = min(1.0, self.trust + p.d_trust_bad_contact / p.ratio_bad_good)
        weight, removed = 1.0, False
        if r.random() < site.expel_prob:
            self.ban_zone = site.expel_zone
            self.ban_until = m.t + round(site.expel_hours)
            self.ban_comply = r.random() < p.p_comply_ban
            self.n_expulsions += 1
            m.count(site, "expulsions")
            weight += p.w_memory_expulsion
            removed = True
        if r.random() < site.fine_prob:
            self.fines_owed += site.fine_amount
            self.n_fines += 1
            m.count(site, "fines")
            weight += p.w_memory_fine_per_10k_nok * site.fine_amount / 10_000.0
        if r.random() < p.p_confiscate:
            self.seizure_until = m.t + round(24.0 * p.dur_seizure_risk_days)
        if r.random() < site.p_arrest:
            self.away_until = m.t + round(24.0 * p.dur_custody_days)
            removed = True
        self.remember(site, weight)
        if removed:
            self.site = None
        return weight

    def remember(self, site: Site, amount: float) -> None:
        """Add to the memory of police risk at a site; a new site pushes out the weakest."""
        memory = self.memory
        if site in memory:
            memory[site] += amount
            return
        if len(memory) >= M_MEMORY:
            del memory[min(memory, key=memory.__getitem__)]
        memory[site] = amount

    # --- injection and overdose ------------------------------------------------------------
    def inject(self) -> None:
        """Maybe inject this hour: in public or not, unsafely or not; maybe overdose."""
        m, p, r = self.model, self.model.p, self.random
        if not self.injects or self.away_until > m.t:
            return
        if r.random() >= p.rate_injections_per_day / 24.0 * (
            p.rel_inject_oat if self.in_oat else 1.0
        ):
            return
        site = self.site
        public = unsafe = False
        if site is not None:
            if r.random() < p.p_public_at_scene:
                public = True
                x = m.logit_unsafe + p.k_unsafe_police * site.officers
                x += p.k_unsafe_hygiene * (1.0 - site.hygiene)
                x += p.k_unsafe_crowding * site.count / site.capacity
                unsafe = r.random() < 1.0 / (1.0 + math.exp(-x))
                m.count(site, "public_injections")
                if unsafe:
                    m.count(site, "unsafe_injections")
        elif not self.housed:
            public = True
            unsafe = r.random() < p.p_unsafe_base
            m.offscene_public += 1
        risk = p.p_od_per_injection
        risk *= (1.0, p.rel_od_stimulants, p.rel_od_poly)[self.substance]
        if unsafe:
            risk *= p.rel_od_unsafe
        if self.in_oat:
            risk *= p.rel_od_oat
        if self.seizure_until > m.t:
            risk *= p.rel_od_after_seizure
        if r.random() >= risk:
            return
        self.n_overdoses += 1
        if site is not None:
            m.count(site, "overdoses")
        p_death = p.p_death_given_od
        if site is not None and public and site.count > 1:
            p_death *= p.rel_death_with_others
        if r.random() < p_death:
            if site is not None:
                m.count(site, "overdose_deaths")
            self.site = None
            self.remove()  # leaves the model; the site's head-count for this hour stands

    # --- end of day ------------------------------------------------------------------------
    def end_of_day(self) -> None:
        """Trust drifts back to baseline; memories and habits fade."""
        m = self.model
        self.trust += m.trust_drift * (self.trust0 - self.trust)
        for site in self.memory:
            self.memory[site] *= m.decay_memory
        for site in self.known:
            self.known[site] *= m.decay_habit


class SceneModel(mesa.Model):
    """The docked subset of scenelab as a Mesa model; one :meth:`step` is one hour."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        overrides: dict[str, float] | None = None,
    ) -> None:
        super().__init__(seed=seed)
        self.scenario = scenario
        vec = parameter_vector(scenario, overrides)
        self.p = SimpleNamespace(
            **{spec.name: float(v) for spec, v in zip(PARAMETERS, vec, strict=True)}
        )
        offending = [name for name in _MUST_BE_ZERO if getattr(self.p, name) != 0.0]
        if (
            scenario.services
            or scenario.sellers.initial_local
            or scenario.sellers.initial_travelling
        ):
            offending.append("services or sellers")
        if self.p.main_scenes_known != 1.0:
            offending.append("main_scenes_known (must be 1)")
        if any(iv.type == "police_strategy" for iv in scenario.interventions):
            offending.append("police_strategy")
        if offending:
            raise ValueError(
                "the Mesa reference does not implement entry/exit, sellers, services or private "
                f"violence; switch these off (benchmarks.scenarios.docking_scenario): {offending}"
            )
        w = self.world = compile_world(scenario)
        # Schedules as nested lists: indexing them from Python is far cheaper than NumPy scalars.
        self.epoch_of_day = w.epoch_of_day.tolist()
        self.site_open = w.site_open.tolist()
        self.officers = w.officers.tolist()
        self.op_officers = w.op_officers.tolist()
        self.outreach = w.outreach.tolist()
        self.mode = w.mode.tolist()
        self.raid_ohpd = w.raid_ohpd.tolist()
        self.raid_hours_open = [
            [[h for h in range(24) if w.raid_window[e, s, h]] for s in range(w.site_cap.size)]
            for e in range(w.site_open.shape[0])
        ]
        self.expel_prop = w.expel_prop.tolist()
        self.expel_hours = w.expel_hours.tolist()
        self.expel_zone = w.expel_zone.tolist()
        self.fine_prop = w.fine_prop.tolist()
        self.fine_amount = w.fine_amount.tolist()
        p = self.p
        self.raid_hours = max(1, round(p.dur_raid_hours))
        self.p_leave = 1.0 / p.dur_visit_hours
        self.logit_unsafe = math.log(p.p_unsafe_base / (1.0 - p.p_unsafe_base))
        self.decay_attr = math.exp(-p.rate_attr_decay_per_day / 24.0)
        self.decay_rep = math.exp(-p.rate_reputation_decay_per_day / 24.0)
        self.decay_memory = math.exp(-p.rate_memory_decay_per_day)
        self.decay_habit = math.exp(-p.rate_habit_decay_per_day)
        self.trust_drift = 1.0 - math.exp(-p.rate_trust_recovery_per_year / 365.25)

        n_sites = len(scenario.sites)
        zones_of = [
            frozenset(int(z) for z in np.flatnonzero(w.zone_member[:, s])) for s in range(n_sites)
        ]
        self.site_list = [Site(self, s, zones_of[s]) for s in range(n_sites)]
        for site, spec in zip(self.site_list, scenario.sites, strict=True):
            site.activity = spec.initial_activity
        self.distance = [
            [km(w.site_lat[a], w.site_lon[a], w.site_lat[b], w.site_lon[b]) for b in range(n_sites)]
            for a in range(n_sites)
        ]
        by_id = {spec.id: site for spec, site in zip(scenario.sites, self.site_list, strict=True)}
        homes = list(scenario.population.initial_sites)
        home_weights = [scenario.population.initial_sites[h] for h in homes]
        for _ in range(scenario.population.initial_people):
            Person(self, by_id[self.random.choices(homes, weights=home_weights)[0]])
        self.people = self.agents_by_type[Person]
        self.sites = self.agents_by_type[Site]
        n_main = round(p.n_main_scenes)
        ranked = sorted(self.site_list, key=lambda s: -(s.attractiveness + s.activity))
        self.main = ranked[:n_main]  # sorted() is stable, as scenelab's ranking is

        self.t = 0
        self.n_days = w.n_days
        self.site_day = np.zeros((w.n_days, n_sites, len(METRICS)))
        self.offscene_public = 0
        self.agent_ticks = 0
        self.hour_profiles = HOUR_PROFILE.tolist()
        self.hour_profile = 0.0

    def count(self, site: Site, metric: str) -> None:
        """Add one event to today's row for ``site``."""
        self.site_day[self.t // 24, site.index, _COL[metric]] += 1

    def step(self) -> None:
        """One hour, in scenelab's phase order (see ``scenelab phases``)."""
        t = self.t
        day, hour = divmod(t, 24)
        ep = self.epoch_of_day[day]
        # 1. interventions due
        if hour == 0:
            self.sites.do("draw_raid", ep)
        self.sites.do("apply_schedule", ep, hour)
        # 2. (entry and exit are off) 3. attendance and site choice
        self.hour_profile = self.hour_profiles[hour]
        for site in self.site_list:
            site.present = []
        # Each person reads only last hour's site state, so activation order cannot matter:
        # plain do() (no shuffle), as scenelab visits people in index order.
        self.people.do("attend")
        for site in self.site_list:
            site.count = len(site.present)
        # 4. (no sellers) 5. policing
        self.sites.do("police")
        # 6. injection and overdose
        self.people.do("inject")
        # 7. violence at sites (private violence is off)
        self.sites.do("violence")
        # 8. (no services) 9. memories, reputations, attractiveness
        self.sites.do("end_of_hour")
        if hour == 23:
            self.people.do("end_of_day")
        # 10. record
        for site in self.site_list:
            row = self.site_day[day, site.index]
            row[_COL["person_hours"]] += site.count
            row[_COL["police_hours"]] += site.officers
        if hour == 23:
            self.update_main(ep)
        self.agent_ticks += len(self.people)
        self.t += 1

    def update_main(self, ep: int) -> None:
        """The main scenes everyone knows of: open sites with the most smoothed presence."""
        ranked = sorted(
            (s for s in self.site_list if s.is_open),
            key=lambda s: -(s.smoothed + 1e-3 * (s.attractiveness + s.activity)),
        )
        n_main = len(self.main)
        main = ranked[:n_main]
        while len(main) < n_main:  # fewer open sites than main scenes: repeat the last
            main.append(main[-1] if main else self.main[0])
        self.main = main

    def site_day_table(self) -> pd.DataFrame:
        """Return the recorded days as scenelab's site_day columns (the subset recorded here)."""
        n_days, n_sites, _ = self.site_day.shape
        days = self.t // 24
        flat = self.site_day[:days].reshape(days * n_sites, -1)
        data: dict[str, object] = {
            "date": np.repeat(pd.date_range(self.scenario.run.start, periods=days).values, n_sites),
            "site": np.tile(np.array(self.scenario.site_ids(), dtype=object), days),
            "people_present": flat[:, _COL["person_hours"]] / 24.0,
        }
        for name in METRICS[1:]:
            data[name] = flat[:, _COL[name]]
        return pd.DataFrame(data)


@dataclass
class ReferenceRun:
    """What a run of the Mesa reference produced."""

    site_day: pd.DataFrame
    agent_ticks: int
    wall_seconds: float


def run_reference(
    scenario: Scenario,
    seed: int,
    overrides: dict[str, float] | None = None,
    until: dt.date | None = None,
) -> ReferenceRun:
    """Run the Mesa reference from the scenario's start to ``until`` (default: its end)."""
    started = time.perf_counter()
    model = SceneModel(scenario, seed, overrides)
    end = min(until or scenario.run.end, scenario.run.end)
    for _ in range(((end - scenario.run.start).days + 1) * 24):
        model.step()
    wall = time.perf_counter() - started
    return ReferenceRun(model.site_day_table(), model.agent_ticks, wall)
