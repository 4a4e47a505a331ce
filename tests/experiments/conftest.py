"""Shared fixtures: one small Dask cluster on loopback for the experiments tests."""

import logging

import pytest
from distributed import Client, LocalCluster


@pytest.fixture(scope="session")
def dask_client():
    """Two single-threaded worker processes bound to 127.0.0.1, closed after the session."""
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture
def toy_spec():
    """Factory of experiments on the toy model: two arms x LHS over mu x replicates."""
    return _toy_spec


def _toy_spec(name="toy-exp", *, replicates=2, n=4, work=0.0, arms=None, **experiment):
    from scenelab.experiments import parse_experiment

    arms = arms or [
        {"name": "low", "scenario": "toy", "overrides": {"lam": 2.0, "work_seconds": work}},
        {"name": "high", "scenario": "toy", "overrides": {"lam": 6.0, "work_seconds": work}},
    ]
    return parse_experiment(
        {
            "experiment": {"name": name, "model": "toy", "replicates": replicates, **experiment},
            "arms": arms,
            "design": {"kind": "lhs", "n": n, "parameters": {"mu": {"low": -1, "high": 1}}},
        }
    )
