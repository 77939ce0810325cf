"""The order of the report: read the inputs, run the models, render each part of the page,
write Markdown and HTML. Each step prints one line with its duration."""

import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from ..document import Document
from ..inputs import FULL_FLOAT_RUN, FULL_TRN3_RUN, read_inputs
from .first_screen import first_screen
from .method_section import method_section, roofline_section
from .published_section import claims_section, published_section
from .collectives_section import collectives_section
from .rtl_section import characterization_section, fabric_section, inputs_section
from .runs import run_models
from .summary_section import summary_section
from .workload_section import workload_section

__all__ = ["build_report"]

TITLE = ("Scaling report: an RTL-grounded Trainium-class Tensor Engine, from one NeuronCore to "
         "a cluster")
INTRODUCTION = (
    "Computed from sourced architectural parameters and models that reproduce the RTL cycle "
    "for cycle; AWS's figures are comparison targets only. Sources by key, listed at the end.")


def _progress(message):
    print(f"[report] {message}", flush=True)


@contextmanager
def _step(message):
    """Print ``message`` and the seconds the step took, in one line, once it is done."""
    start = time.perf_counter()
    yield
    _progress(f"{message} ({time.perf_counter() - start:.1f} s)")


def _inputs_line(inputs):
    """The console's account of the inputs: how many are current, and every one that is not
    (stale, missing, of unknown currency) with why."""
    current = [result for result in inputs.values() if result.verdict.state == "current"]
    lines = [f"{len(current)} of {len(inputs)} inputs current"]
    for result in inputs.values():
        if result.verdict.state != "current":
            parts = result.verdict.detail.split("; ")
            if len(parts) > 3:  # one clause per design: the first, a count, the remedy
                parts = [parts[0], f"{len(parts) - 2} more designs alike", parts[-1]]
            lines.append(f"{result.label} ({result.verdict.path}) {result.verdict.state}: "
                         f"{'; '.join(parts)}")
    return "; ".join(lines)


@contextmanager
def _warnings_to(log):
    """Keep the libraries' warnings (matplotlib's, say) off the console: each goes to the file
    ``log`` (None: the console, as Python shows them), and one console line counts them."""
    if log is None:
        yield
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("".join(warnings.formatwarning(item.message, item.category, item.filename,
                                                  item.lineno) for item in caught))
    if caught:
        _progress(f"{len(caught)} library warning{'s' if len(caught) > 1 else ''} in {log}")


def build_report(tile_path, float_path, fabric_path, out, full_path, verilog_dirs, specs=None,
                 assumptions=None, full_float_path=FULL_FLOAT_RUN, full_trn3_path=FULL_TRN3_RUN,
                 log=None):
    """Write ``report.md``, ``report.html`` and the plots into ``out``.

    Parameters
    ----------
    tile_path, float_path, fabric_path : path
        Tile (int8), floating-point tile and fabric characterization results. The
        floating-point tiles' steady-state MACs per PE per cycle replace the spec's for
        Trainium2 and Trainium3, each chip's from its own tile
        (:func:`~..peak.with_measured_rates`).
    out : path
        Output directory (created).
    full_path : path
        The full-size tile run; the report says so if the file is absent.
    full_float_path : path
        The full-size run of the tile of Trainium2's floating-point formats; likewise.
    full_trn3_path : path
        The full-size run of the tile of Trainium3's formats; likewise.
    verilog_dirs : sequence of path
        Directories of today's generated Verilog, to tell whether each input is current.
    specs, assumptions : Specs, Assumptions or None
        Defaults: the project's spec data and :class:`~..assumptions.Assumptions` (its fitted
        fields hold the calibration's result).
    log : path or None
        Where the libraries' warnings go (rewritten each run); None leaves them to Python.

    Raises
    ------
    sim_models.results.ResultsError
        If an input does not load (:func:`~..inputs.read_inputs`).
    sim_models.specs.SpecError
        If a published figure differs from the model with no explanation (:mod:`..gaps`).

    Returns
    -------
    Path
        The Markdown report.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with _warnings_to(log):
        document = _render(tile_path, float_path, fabric_path, out, full_path, verilog_dirs,
                           specs, assumptions, full_float_path, full_trn3_path)
    markdown = out / "report.md"
    with _step(f"wrote {markdown} and {out / 'report.html'}"):
        markdown.write_text(document.markdown() + "\n")
        (out / "report.html").write_text(document.html() + "\n")
    return markdown


def _render(tile_path, float_path, fabric_path, out, full_path, verilog_dirs, specs, assumptions,
            full_float_path, full_trn3_path):
    """The report's Document, its plots drawn into ``out``: see :func:`build_report`."""
    with _step("read the inputs and checked whether each is current"):
        inputs = read_inputs(tile_path, float_path, fabric_path, full_path, verilog_dirs,
                             full_float_path, full_trn3_path)
    _progress(_inputs_line(inputs))
    with _step("training and decode steps, AWS's measurements, scaling curves"):
        runs = run_models(inputs, specs, assumptions)
    document = Document(TITLE)
    document.paragraph(INTRODUCTION)
    with _step("answers, summary, claims and published figures"):
        first_screen(document, runs)
        summary_section(document, runs)
        inputs_section(document, runs)
        claims_section(document, runs)
        published_section(document, runs)
    with _step("characterization: every run against the cycle model"):
        characterization_section(document, runs, out)
        fabric_section(document, runs)
        collectives_section(document, runs)
    with _step("method, utilization and roofline"):
        method_section(document, runs, out)
        roofline_section(document, runs, out)
    with _step("workloads, scaling curves and decode"):
        workload_section(document, runs, out)
    document.heading("Sources")
    document.references([(key, source.cite, source.urls)
                         for key, source in runs.specs.sources.items()])
    return document
