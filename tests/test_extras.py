"""The core install runs without the optional extras; commands that need one say which."""

import subprocess
import sys
from pathlib import Path

import pytest

from scenelab.experiments import extra_hint

ROOT = Path(__file__).resolve().parent.parent
EXTRA_MODULES = ("dask", "distributed", "duckdb", "SALib", "pyabc", "mesa", "pytest")


def _without_extras(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter in which the extras' modules cannot be imported."""
    block = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in EXTRA_MODULES)
    return subprocess.run(
        [sys.executable, "-c", block + code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )


def test_extra_hint_names_the_extra():
    assert extra_hint("duckdb") == (
        "duckdb is not installed: install the experiments extra: pip install "
        "'scenelab[experiments]'"
    )
    assert "scenelab[calibrate]" in extra_hint("pyabc.sampler")
    assert "scenelab[calibrate]" in extra_hint("duckdb", "calibrate")
    assert extra_hint("numpy") is None and extra_hint(None) is None


def test_core_commands_import_without_extras(tmp_path):
    proc = _without_extras(
        "import scenelab, scenelab.runs, scenelab.compare, scenelab.report\n"
        "from scenelab.cli import main\n"
        "sys.exit(main(['--help']))\n",
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "experiment" in proc.stdout


@pytest.mark.parametrize("extra", ["experiments", "calibrate"])
def test_extra_commands_say_what_to_install(tmp_path, extra):
    command = "experiment" if extra == "experiments" else "calibrate"
    example = "bergen_lhs.toml" if extra == "experiments" else "toy_calibration.toml"
    proc = _without_extras(
        "from scenelab.cli import main\n"
        f"sys.exit(main([{command!r}, {str(ROOT / 'examples/experiments' / example)!r}, "
        "'--out', 'out']))\n",
        tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith(f"pip install 'scenelab[{extra}]'")
    assert "Traceback" not in proc.stderr


def test_python_api_of_an_extra_says_what_to_install(tmp_path):
    proc = _without_extras(
        "try:\n"
        "    from scenelab.experiments import run_experiment\n"
        "except ModuleNotFoundError as exc:\n"
        "    print(exc)\n",
        tmp_path,
    )
    assert proc.stdout.strip().endswith("pip install 'scenelab[experiments]'"), proc.stderr
