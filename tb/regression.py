"""What every simulation regression shares: where its files go, which simulators it runs on,
and how it takes its seed (in pytest and in each cocotb test) and starts its results file."""

import os
from pathlib import Path

from sim_models.checked import seeded_generator

__all__ = ["BUILD", "SIMULATORS", "fresh_results", "seed_from_env", "seeded_rng"]

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


def seeded_rng(variable, test_name):
    """Generator of one cocotb test: the seed in the environment variable ``variable`` (default
    1) mixed with the test's name, so that tests draw different values; logged for a rerun."""
    import cocotb  # the log exists inside a simulation only

    seed = int(os.environ.get(variable, "1"))
    cocotb.log.info("%s: %s=%d (rerun with %s=%d to reproduce)", test_name, variable, seed,
                    variable, seed)
    return seeded_generator(seed, test_name)


def fresh_results(kind, name, sim):
    """Empty ``<build>/results/<kind>/<name>_<sim>.jsonl`` for a run to append to; its path."""
    results = BUILD / "results" / kind / f"{name}_{sim}.jsonl"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)
    return results
