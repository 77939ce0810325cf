"""What the sweep's Dask tasks run: each step timed, its failure one line naming the step.

- :func:`generate_rtl`, one per tile configuration: the tile is elaborated here and nowhere
  else; its Verilog is written to ``<rtl root>/<sha256[:16]>/`` and every later step of every
  point of that RTL reads that file (only the PE timing elaborates a design of its own, a
  one-PE tile, once per format set).
- :func:`build_rtl`, one per RTL and simulator: the model its GEMMs run on, built in the same
  directory.
- :func:`synthesize_rtl`, one per RTL: Yosys area figures (:mod:`sweep.synthesis`).
- :func:`time_pe`, one per operand format set and MAC depth: the ECP5 fmax of one PE
  (:mod:`sweep.pe_timing`), the same for every array of that set and depth.
- :func:`run_point`, one per point: the point's :data:`~sweep.stages.STAGES` on its built RTL.
"""

import hashlib
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from hdl.emit import generate, write
from sim_models.stimulus import peak_format
from tb.tile_gemms import build_gemm_model

from .pe_timing import pe_fmax_mhz
from .stages import stage_record
from .synthesis import synthesize

__all__ = ["Rtl", "StepError", "build_rtl", "generate_rtl", "run_point", "synthesize_rtl",
           "time_pe"]


class StepError(RuntimeError):
    """A step of a point failed; the message is one line: the step, the error's first line."""


@dataclass(frozen=True)
class Rtl:
    """The generated Verilog of one configuration.

    Members
    -------
    sha256 : str
        SHA-256 (hex) of the Verilog text.
    verilog : Path
        The Verilog file (its ``.ports.json`` beside it), in a directory of its own.
    seconds : float
        Wall time of elaborating and writing it, in seconds.
    """
    sha256: str
    verilog: Path
    seconds: float


def _timed(step, function, *arguments):
    """``(function(*arguments), seconds)``; any exception becomes a :class:`StepError` of one
    line naming ``step``."""
    start = time.perf_counter()
    try:
        result = function(*arguments)
    except Exception as error:
        text = str(error).strip().splitlines()
        raise StepError(f"{step}: {type(error).__name__}: "
                        f"{text[0] if text else 'no message'}") from None
    return result, round(time.perf_counter() - start, 3)


def _elaborate(config, rtl_root, generator):
    design = generator(config)
    sha = hashlib.sha256(design.verilog.encode()).hexdigest()
    return sha, write(design, Path(rtl_root) / sha[:16])


def generate_rtl(config, rtl_root, generator=generate):
    """Elaborate ``config`` with ``generator`` (:func:`hdl.emit.generate`, or a test's stand-in
    with its signature) and write its Verilog under ``<rtl_root>/<sha256[:16]>/``.

    Returns
    -------
    Rtl
    """
    (sha, verilog), seconds = _timed("generate", _elaborate, config, rtl_root, generator)
    return Rtl(sha, verilog, seconds)


def build_rtl(point, rtl):
    """Build the Verilog of ``rtl`` (the :class:`Rtl` of ``point``'s tile) in its directory
    into the model the point's GEMMs will run on (:func:`tb.tile_gemms.build_gemm_model`:
    Verilator's fast-path harness, hierarchical, sized to the point's GEMMs; Icarus's cocotb
    model); the seconds spent, 0 if the build was up to date or in the model store."""
    build = partial(build_gemm_model, hierarchical=point.simulator == "verilator",
                    verilog=rtl.verilog, matmul_format=peak_format(point.config))
    seconds, _ = _timed("build", build, point.config, point.simulator, list(point.shapes),
                        rtl.verilog.parent)
    return seconds


def synthesize_rtl(config, rtl, time_limit):
    """Yosys area figures of ``rtl`` (:func:`sweep.synthesis.synthesize`, ``time_limit`` in
    seconds), logs beside its Verilog: the record (a dict) and its seconds."""
    figures, seconds = _timed("synthesis", synthesize, config, rtl.verilog, time_limit)
    return asdict(figures), seconds


def time_pe(formats, pe_stages, work_dir, time_limit):
    """The ECP5 fmax of one PE of the format set ``formats`` and MAC depth ``pe_stages``
    (:func:`sweep.pe_timing.pe_fmax_mhz`, files under ``work_dir``, ``time_limit`` in seconds):
    ``{"pe_fmax_mhz": MHz}`` and its seconds."""
    fmax, seconds = _timed("pe_timing", pe_fmax_mhz, formats, work_dir, time_limit,
                           pe_stages)
    return {"pe_fmax_mhz": fmax}, seconds


def run_point(point, build_seconds, work, stages):
    """Run ``stages`` on ``point``, whose build is done (it took ``build_seconds``, shared with
    the other points of its RTL; 0 if up to date); return the records and the seconds of each
    stage by name, the build's too (as ``build``)."""
    records, seconds = {}, {"build": build_seconds}
    work.directory.mkdir(parents=True, exist_ok=True)
    for stage in stages:
        record, seconds[stage.name] = _timed(stage.name, stage.run, point, work)
        records[stage.name] = stage_record(record)
    return records, seconds
