"""What a cocotb test knows about its run, from the run request (:mod:`tb.run_request`).

The request's path arrives as the plusarg ``+run_request=<path>`` (``cocotb.plusargs``); it
names the design's sidecar, whose ``config`` gives the configuration, the seed and the
results file. Tests never read environment variables.
"""

import json
from functools import cache

import cocotb

from sim_models.config import config_from_dict
from sim_models.program import INT8, MatmulFormat
from sim_models.stimulus import seeded_generator

from .run_request import PLUSARG, RunRequest

__all__ = ["append_record", "design_config", "request", "run_matmul_format", "seeded_rng"]


@cache
def request():
    """The :class:`~tb.run_request.RunRequest` of this simulation.

    Raises
    ------
    ValueError
        If the simulation was started without the plusarg, or the request is malformed.
    """
    path = cocotb.plusargs.get(PLUSARG)
    if not isinstance(path, str):
        raise ValueError(f"Plusarg +{PLUSARG}=<file> is missing: start simulations with "
                         f"tb.launch.simulate")
    return RunRequest.read(path)


@cache
def design_config():
    """Configuration of the design under test, read from its sidecar: a TileConfig,
    FabricConfig, AllReduceConfig or DistributedGemmConfig."""
    with open(request().sidecar) as file:
        return config_from_dict(json.load(file)["config"])


def run_matmul_format():
    """The :class:`MatmulFormat` of this run: the request's ``matmul_format`` option
    (:func:`tb.run_request.matmul_format_option`), int8 when it has none."""
    value = request().options.get("matmul_format")
    return INT8 if value is None else MatmulFormat(*value)


def seeded_rng(test_name):
    """Generator of one test: the run's seed mixed with ``test_name``, so that tests draw
    different values; the seed and the command that reproduces the run are logged."""
    seed, rerun = request().seed, request().rerun
    cocotb.log.info("%s: seed %d%s", test_name, seed, f"; rerun: {rerun}" if rerun else "")
    return seeded_generator(seed, test_name)


def append_record(entry):
    """Append ``entry`` (a dict of JSON values) as one line to the run's results file, if the
    run has one."""
    path = request().results
    if path is not None:
        with open(path, "a") as file:
            file.write(json.dumps(entry) + "\n")
