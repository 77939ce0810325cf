"""The scaling report: what the RTL-grounded model gives from one NeuronCore to a cluster,
beside what AWS and the press published.

    python -m sim_models.scaling.report --tile build/characterization/tile.json \\
        --float build/characterization/tile_float.json \\
        --fabric build/characterization/fabric.json --out reports

writes ``report.md``, ``report.html`` and the PNG plots into ``--out``. The characterization
files come from ``make characterize`` (tile and fabric simulations) and ``make
characterize-full``, ``make characterize-full-float`` and ``make characterize-full-trn3`` (the
128 x 128 array, int8, with Trainium2's floating-point formats and with Trainium3's, in
Verilator, committed; the report does without any of them and says so); the report only reads
them, and says of each whether it is current: whether the Verilog it simulated, found in the
``--verilog`` directories, and what it was checked against are today's
(:mod:`sim_models.staleness`).

One job per module: :mod:`.cli` the command line, :mod:`.build` the order of the steps,
:mod:`.runs` every model run the report shows, and one renderer module per part of the page
(:mod:`.summary`, :mod:`.published`, :mod:`.validation`, :mod:`.method`, :mod:`.workloads`),
which turn those runs into tables, prose and plots and compute nothing of the model.
"""

from .build import build_report
from .cli import main

__all__ = ["build_report", "main"]
