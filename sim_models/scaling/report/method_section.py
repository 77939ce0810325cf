"""How the report goes from the tile to the chip: the method, the assumptions, the utilization
of one Tensor Engine by GEMM shape and the rooflines of the Trainium generations."""

from .. import plots
from ..assumptions import describe
from ..formatting import setting
from .runs import ROOFLINE_DATATYPE

__all__ = ["method_section", "roofline_section"]


def method_section(document, runs, out):
    """Add the method, the assumptions of ``runs`` (ReportRuns) and ``utilization.png``
    (drawn into ``out``)."""
    document.heading("From the tile to the chip: method and assumptions")
    config = runs.utilization_tile
    document.bullets([
        "Core peak = 2 x rows x columns x TensorE clock x MACs per PE per cycle (1 BF16, 2 for "
        "Trn2 FP8 double-row, 4 for MXFP8, 1/4 FP32); sparse = BF16 x the sparsity factor. "
        "Chip = cores x core; system = chips x chip. No published headline figure is read.",
        f"Achieved GEMM time on a core: the project's tiler maps the GEMM onto a "
        f"{config.rows} x {config.cols} tile with {config.psum_banks} PSUM banks of "
        f"{config.psum_depth} entries, and the cycle model, which equals the RTL cycle for "
        f"cycle (previous section, the full 128 x 128 run included), times it: fill, drain, "
        f"background weight load and PSUM read-out are all in it. FP8 double-row contracts "
        f"256 rows per pass (K / 2 passes); FP32 takes 4 cycles per moving column.",
        "Chip GEMM: the cores split N (or M, whichever finishes sooner); HBM traffic follows "
        "from the largest output block whose FP32 partial sums and double-buffered operand "
        "slabs fit in a core's SBUF; GEMM time = max(compute, HBM traffic / bandwidth).",
        "Collectives: the alpha-beta model that the RTL all-reduce ring matches cycle for "
        "cycle, with the RTL-measured step latency and payload efficiency, the spec's link "
        "bandwidths, dimension by dimension on a torus, as a direct reduce-scatter and "
        "all-gather of two steps over a switch (the RTL's direct all-reduce's fit), and "
        "hierarchically (inside an UltraServer, then over EFA) in a cluster.",
        "What the model leaves out is listed in the summary.",
    ])
    document.table(["assumption", "value", "why"],
                   [[name, setting(name, value), why]
                    for name, value, why in describe(runs.assumptions)])
    measured = {}
    for check in runs.context.tile_checks:
        if (check.rows, check.cols) == (config.rows, config.cols):
            measured.setdefault(check.matmul_format.label, {})[
                (check.m, check.k, check.n)] = check.utilization
    plots.utilization(out / "utilization.png", runs.utilization,
                      {label: [(n, value) for (_, _, n), value in gemms.items()]
                       for label, gemms in measured.items()})
    count = sum(len(gemms) for gemms in measured.values())
    document.image("utilization.png", "How much of one 128 x 128 Tensor Engine does a GEMM "
                   "keep busy, by its shape? Utilization against the moving free size N: lines "
                   "from the cycle model (M = 128, read-out included), markers the "
                   f"{count} RTL runs of the 128 x 128 tile, each once, by format and mode, "
                   "each against its mode's peak (FP8 double-row: two products per PE per "
                   "cycle); the RTL runs' M, K and N are in the table of the previous section")


def roofline_section(document, runs, out):
    """Add ``roofline.png`` of ``runs`` (ReportRuns), drawn into ``out``."""
    workload = runs.workloads["llama3-70b"]
    plots.roofline(out / "roofline.png", runs.roofline)
    document.image("roofline.png", f"Which of {workload.name}'s weight GEMMs does each "
                   f"Trainium generation run compute-bound, and which HBM-bound? One panel per "
                   f"chip, {ROOFLINE_DATATYPE.upper()}: the roofline (TensorE peak, HBM "
                   f"bandwidth) and each GEMM where the chip model places it (achieved "
                   f"TFLOP/s against FLOP per HBM byte); the four training GEMMs lie together "
                   f"at the peak, compute-bound on every chip")
