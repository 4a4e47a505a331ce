"""Fixtures for the report tests: synthetic tables (see synthetic_runs.py) and report inputs."""

import pytest
from synthetic_runs import (
    INTERVENTIONS,
    NEIGHBOURHOODS,
    PERIODS,
    SHARES,
    SITES,
    SURVEY,
    make_tables,
)

from scenelab.report import ReportInputs


@pytest.fixture(scope="session")
def tables():
    return make_tables()


@pytest.fixture(scope="session")
def comparison():
    return {name: make_tables(name, replicates=3) for name in SHARES}


@pytest.fixture
def inputs():
    return ReportInputs(
        sites=SITES.copy(),
        neighbourhoods=NEIGHBOURHOODS.copy(),
        interventions=list(INTERVENTIONS),
        periods=list(PERIODS),
        title="Bergen 2013–2017: synthetic test report",
        scenario_name="bergen-synthetic",
    )


@pytest.fixture
def survey():
    return SURVEY.copy()
