"""What every simulation regression shares: where its files go, which simulators it runs on,
and how it takes its seed and starts its results file."""

import os
from pathlib import Path

__all__ = ["BUILD", "SIMULATORS", "fresh_results", "seed_from_env"]

#: Build directory: BUILD_DIR if set (the Makefile sets it), else build/ in the repository.
BUILD = Path(os.environ.get("BUILD_DIR",
                           Path(__file__).resolve().parent.parent / "build")).resolve()
#: Simulators of a run: the one named by SIM, else both.
SIMULATORS = [os.environ["SIM"]] if os.environ.get("SIM") else ["icarus", "verilator"]


def seed_from_env(variable):
    """Seed in the environment variable ``variable`` (default "1"), printed for a rerun."""
    seed = os.environ.get(variable, "1")
    print(f"{variable}={seed}")
    return seed


def fresh_results(kind, name, sim):
    """Empty ``<build>/results/<kind>/<name>_<sim>.jsonl`` for a run to append to; its path."""
    results = BUILD / "results" / kind / f"{name}_{sim}.jsonl"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)
    return results
