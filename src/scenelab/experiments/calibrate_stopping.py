"""When an ABC calibration stops: pyabc's convergence rules against the caps, judged and reported.

Converged means one of pyabc's own termination criteria held (``min_epsilon``,
``min_epsilon_diff``, ``min_acceptance_rate``); a cap (generations, simulations, walltime) means
the run was stopped, not converged. ``scenelab.experiments.calibrate`` reports which.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Mapping
from typing import Any

#: Convergence rules (pyabc's own criteria), in the order they are reported.
CONVERGENCE_RULES = ("min_epsilon", "min_epsilon_diff", "min_acceptance_rate")
#: Caps: the run was stopped, not converged.
CAP_RULES = ("max_generations", "max_simulations", "max_walltime")


def stopping_rule(
    history: Any,  # noqa: ANN401 - a pyabc.History
    cal: Any,  # noqa: ANN401 - a CalibrationSection
    *,
    walltime_s: float | None = None,
    unfinished: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Say which stopping rule a stored ABC run meets, judged on its last generation.

    The convergence rules are pyabc's own termination criteria: the last epsilon at or below
    ``min_epsilon``; epsilon changing by less than ``min_epsilon_diff`` from the generation
    before (pyabc's ``min_eps_diff``); the last generation's acceptance rate (accepted particles
    over simulations) below ``min_acceptance_rate``. The caps are ``max_generations``,
    ``max_simulations`` (the run's total) and ``max_walltime_minutes`` (this invocation's
    ``abc.run``, ``walltime_s``). A convergence rule is reported before a cap when both hold.
    A generation that spent its budget of ``population_size / min_acceptance_rate`` simulations
    without a full population (``unfinished``, from the sampler; not stored by pyabc) has
    an acceptance rate below ``min_acceptance_rate`` by construction: the rule holds, and the
    posterior is the last complete generation, as pyabc's budget-checking samplers give it.

    Args:
        history: The run's pyabc history.
        cal: The ``[calibration]`` settings.
        walltime_s: Seconds ``abc.run`` took in this invocation (None: not run now).
        unfinished: The generation the sampler stopped at its budget (``t``, ``simulations``,
            ``accepted``), or None.

    Returns:
        ``stopped_by`` (a rule name, None when none holds), ``converged``, ``rules_met``,
        ``acceptance_rates`` per stored generation, ``unfinished_generation`` (with its rate)
        and the settings judged against.
    """
    populations = history.get_all_populations()
    populations = populations[populations["t"] >= 0].sort_values("t")
    eps = [float(e) for e in populations["epsilon"]]
    rates = [
        float(a) / float(n) if n else float("nan")
        for a, n in zip(populations["particles"], populations["samples"], strict=True)
    ]
    met: list[str] = []
    if eps and eps[-1] <= cal.min_epsilon:
        met.append("min_epsilon")
    if len(eps) > 1 and abs(eps[-1] - eps[-2]) < cal.min_epsilon_diff:
        met.append("min_epsilon_diff")
    unfinished_rate = None
    if unfinished is not None and unfinished["simulations"] > 0:
        unfinished_rate = unfinished["accepted"] / unfinished["simulations"]
    if (rates and rates[-1] < cal.min_acceptance_rate) or (
        unfinished_rate is not None and unfinished_rate < cal.min_acceptance_rate
    ):
        met.append("min_acceptance_rate")
    if len(eps) >= cal.max_generations:
        met.append("max_generations")
    if cal.max_simulations is not None and int(history.total_nr_simulations) >= cal.max_simulations:
        met.append("max_simulations")
    if (
        cal.max_walltime_minutes is not None
        and walltime_s is not None
        and walltime_s > 60.0 * cal.max_walltime_minutes
    ):
        met.append("max_walltime")
    stopped_by = next((r for r in (*CONVERGENCE_RULES, *CAP_RULES) if r in met), None)
    return {
        "stopped_by": stopped_by,
        "converged": stopped_by in CONVERGENCE_RULES,
        "rules_met": met,
        "acceptance_rates": rates,
        "unfinished_generation": (
            None if unfinished is None else {**unfinished, "acceptance_rate": unfinished_rate}
        ),
        "settings": {
            "min_epsilon": cal.min_epsilon,
            "min_epsilon_diff": cal.min_epsilon_diff,
            "min_acceptance_rate": cal.min_acceptance_rate,
            "max_generations": cal.max_generations,
            "max_simulations": cal.max_simulations,
            "max_walltime_minutes": cal.max_walltime_minutes,
        },
    }


def describe_unfinished(unfinished: Mapping[str, int], population_size: int) -> str:
    """Say, for the command's output, that a generation stopped at its budget of simulations.

    Args:
        unfinished: ``t``, ``simulations`` and ``accepted`` of the generation.
        population_size: The population it did not fill.

    Returns:
        One sentence.
    """
    return (
        f"Generation {unfinished['t']} spent its budget of simulations "
        f"({unfinished['simulations']}, {unfinished['accepted']} accepted, below "
        f"{population_size}): not stored; the posterior is generation {unfinished['t'] - 1}"
    )


class PyabcStopMessages(logging.Handler):
    """Collects pyabc's own "Stop: ..." log lines while ``abc.run`` runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.messages: list[str] = []
        self._logger = logging.getLogger("ABC")  # pyabc's logger (INFO unless ABC_LOG_LEVEL)

    def emit(self, record: logging.LogRecord) -> None:
        """Keep a record's message if it is one of pyabc's stop messages."""
        msg = record.getMessage()
        if msg.startswith("Stop"):
            self.messages.append(msg)

    def __enter__(self) -> PyabcStopMessages:
        self._logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)


class InterruptOnlyWhileSampling:
    """Ctrl-C during ``abc.run`` takes effect while pyabc waits for simulations, never mid-write.

    pyabc stores each generation in its SQLite database between samplings and, on the way out
    (``History.done``), commits once more with a busy timeout of 120 s. A KeyboardInterrupt raised
    in the middle of a write could leave that write's lock held by a connection the traceback
    keeps alive, and the final commit would then wait two minutes before the command could stop
    (a suspected cause of a rare hang after Ctrl-C in the interrupted-calibration test; not
    reproduced). Here Ctrl-C raises at once while the sampler waits for simulations, which is
    nearly all of a calibration's time; at any other moment it is held until the next sampling
    begins or ``abc.run`` returns, whichever comes first. Only in the main thread (where signals
    arrive), and only where SIGINT has Python's default handler.
    """

    def __init__(self, sampler: Any) -> None:  # noqa: ANN401 - a pyabc sampler
        """Guard ``sampler.sample_until_n_accepted``."""
        self._sampler = sampler
        self._active = False
        self._sampling = False
        self.pending = False
        self._previous: Any = None

    def _on_sigint(self, signum: int, frame: object) -> None:
        if self._sampling:
            raise KeyboardInterrupt
        self.pending = True

    def _raise_if_pending(self) -> None:
        if self.pending:
            raise KeyboardInterrupt

    def __enter__(self) -> InterruptOnlyWhileSampling:
        if threading.current_thread() is not threading.main_thread():
            return self
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return self  # SIGINT ignored (a background job) or handled by the caller: leave it
        original = self._sampler.sample_until_n_accepted

        def sampling(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            self._raise_if_pending()
            self._sampling = True
            try:
                return original(*args, **kwargs)
            finally:
                self._sampling = False

        self._sampler.sample_until_n_accepted = sampling
        self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        self._active = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if not self._active:
            return
        signal.signal(signal.SIGINT, self._previous)
        del self._sampler.sample_until_n_accepted  # the class's method again
        if self.pending and exc_type is None:
            raise KeyboardInterrupt
