"""The claims table: each news claim C1-C12 beside what the model gives.

A claim repeats published figures (compared by :mod:`.comparisons`) and states multipliers
("5x the compute"), each computed here by a named metric from the model. Claims and their
multipliers live in ``claims.toml``; this module only computes.
"""

from dataclasses import dataclass
from pathlib import Path

from sim_models.config import TileConfig
from sim_models.program import LoadStationary, MultiplyMoving
from sim_models.tiler import tile_gemm

from ..specs import SpecError, read_toml
from .comparisons import compare
from .core_cycles import zeros
from .peak import chip_peak, system_peak
from .training import training_step

__all__ = ["CLAIMS_FILE", "ModelContext", "RatioCheck", "Claim", "METRICS", "claims",
           "largest_run", "systolic_accesses_per_mac"]

#: The claims of the report.
CLAIMS_FILE = Path(__file__).with_name("claims.toml")
#: Memory accesses per MAC of a machine that reads both operands and reads and writes the
#: partial sum at every step (the claim's "CPU/GPU that reads and writes memory at every step").
LOAD_STORE_ACCESSES_PER_MAC = 4


@dataclass(frozen=True)
class ModelContext:
    """Everything a metric may use.

    Members
    -------
    specs : Specs
    workloads : dict of str to Transformer
    calibration : FabricCalibration
    assumptions : Assumptions
    tile_checks : tuple of TileCheck
        RTL tile runs (characterization), for the metrics measured on the RTL.
    """
    specs: object
    workloads: dict
    calibration: object
    assumptions: object
    tile_checks: tuple


def _tokens_per_chip_second(context, system_key, workload_key):
    system = context.specs.system(system_key)
    step = training_step(context.specs, system, context.workloads[workload_key],
                         context.calibration, context.assumptions)
    return step.tokens / step.seconds / step.chips


def _peak_ratio(context, new, old):
    return chip_peak(context.specs.chip(new[0]), new[1]) / \
        chip_peak(context.specs.chip(old[0]), old[1])


def _system_ratio(context, new, old):
    specs = context.specs
    return system_peak(specs, specs.system(new[0]), new[1]) / \
        system_peak(specs, specs.system(old[0]), old[1])


def systolic_accesses_per_mac(check):
    """Elements that cross the RTL tile's ports per MAC in one characterization run: every
    stationary, moving and result element of its tiled program, over its MACs."""
    config = TileConfig(check.rows, check.cols)
    gemm = tile_gemm(config, zeros(check.k, check.m), zeros(check.k, check.n))
    elements = 0
    for operation in gemm.program:
        if isinstance(operation, LoadStationary):
            elements += operation.k * operation.m
        elif isinstance(operation, MultiplyMoving):
            elements += operation.k * operation.n
        else:
            elements += operation.m * operation.n
    return elements / check.macs


def largest_run(checks):
    """The RTL run of the largest array and, on it, the most MACs: the one C12 is read from."""
    return max(checks, key=lambda check: (check.rows * check.cols, check.macs))


def _systolic_reduction(context):
    return LOAD_STORE_ACCESSES_PER_MAC / systolic_accesses_per_mac(
        largest_run(context.tile_checks))


def _gpu_server(context, quantity):
    specs, assumptions = context.specs, context.assumptions
    ultraserver, h100 = specs.system("trn2-ultraserver"), specs.chip("h100")
    if quantity == "compute":
        return system_peak(specs, ultraserver, "fp8") / \
            (assumptions.gpu_server_gpus * chip_peak(h100, "fp8"))
    trn2 = specs.chip(ultraserver.chip)
    return ultraserver.chips.value * trn2.hbm_capacity.value / \
        (assumptions.gpu_server_gpus * h100.hbm_capacity.value)


#: Metric name -> function of a ModelContext giving the model's multiplier.
METRICS = {
    "ultraserver_vs_gpu_server_compute": lambda c: _gpu_server(c, "compute"),
    "ultraserver_vs_gpu_server_memory": lambda c: _gpu_server(c, "memory"),
    "trn2_vs_trn1_training": lambda c: _tokens_per_chip_second(c, "trn2-instance", "llama3-8b")
    / _tokens_per_chip_second(c, "trn1-instance", "llama3-8b"),
    "trn2_vs_trn1_bf16_peak": lambda c: _peak_ratio(c, ("trn2", "bf16"), ("trn1", "bf16")),
    "trn2_vs_trn1_memory": lambda c: c.specs.chip("trn2").hbm_capacity.value
    / c.specs.chip("trn1").hbm_capacity.value,
    "trn3_vs_trn2_compute": lambda c: _peak_ratio(c, ("trn3", "mxfp8"), ("trn2", "fp8")),
    "trn3_vs_trn2_bf16": lambda c: _peak_ratio(c, ("trn3", "bf16"), ("trn2", "bf16")),
    "trn3_us_vs_trn2_us": lambda c: _system_ratio(c, ("trn3-gen2-ultraserver", "mxfp8"),
                                                  ("trn2-ultraserver", "fp8")),
    "trn3_us_vs_trn2_us_bf16": lambda c: _system_ratio(c, ("trn3-gen2-ultraserver", "bf16"),
                                                       ("trn2-ultraserver", "bf16")),
    "systolic_traffic_reduction": _systolic_reduction,
}
#: Metric name of a multiplier the model cannot compute (its ``unmodelled`` says why).
UNMODELLED = "unmodelled"


@dataclass(frozen=True)
class RatioCheck:
    """A claimed multiplier and the model's.

    Members
    -------
    label : str
    claimed : float or None
        The claim's factor; None where it gives no number.
    model : float or None
        The model's factor; None where it is not modelled.
    unmodelled : str or None
        Why the model gives no factor.
    explanation : str or None
        Why the model's factor is what it is against the claimed one; None where it is not
        modelled.
    """
    label: str
    claimed: object
    model: object
    unmodelled: object
    explanation: object

    @property
    def ratio(self):
        """Model over claimed factor; None if either is missing."""
        if self.claimed is None or self.model is None:
            return None
        return self.model / self.claimed


@dataclass(frozen=True)
class Claim:
    """One claim: its text, the published figures it repeats and its multipliers."""
    key: str
    text: str
    figures: tuple
    ratios: tuple
    explanation: str


def _ratio(context, key, item):
    metric = item["metric"]
    if metric == UNMODELLED:
        return RatioCheck(item["label"], item.get("value"), None, item["unmodelled"], None)
    if metric not in METRICS:
        raise SpecError(f"{CLAIMS_FILE.name}: field '{key}.ratios.metric' must be one of "
                        f"{', '.join([*METRICS, UNMODELLED])}, not {metric!r}")
    if not item.get("explanation", "").strip():
        raise SpecError(f"{CLAIMS_FILE.name}: field '{key}.ratios.explanation' is missing "
                        f"for {item['label']!r}: every modelled multiplier says why it is "
                        f"what it is")
    return RatioCheck(item["label"], item.get("value"), METRICS[metric](context), None,
                      item["explanation"])


def claims(context, path=CLAIMS_FILE):
    """Every claim of ``path`` with its comparisons, in file order.

    Returns
    -------
    list of Claim
    """
    tables = read_toml(path)
    published = {figure.key: figure for figure in context.specs.published}
    result = []
    for key, table in tables.items():
        figures = []
        for name in table.get("figures", []):
            if name not in published:
                raise SpecError(f"{Path(path).name}: field '{key}.figures' names no published "
                                f"figure: {name!r}")
            figures.append(compare(context.specs, published[name]))
        ratios = tuple(_ratio(context, key, item) for item in table.get("ratios", []))
        result.append(Claim(key, table["text"], tuple(figures), ratios, table["explanation"]))
    return result
