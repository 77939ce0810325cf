"""The report's collectives measured on the RTL: every run per topology, collective, node count
and message size beside its alpha-beta fit (held-out runs marked), the fitted alpha and beta
per topology, and the UltraServers' collective figures with how far each is extrapolated."""

from ..formatting import binary_bytes, number, percent, si, signed_percent

__all__ = ["collectives_section"]


def _fits(document, runs):
    fits = runs.calibration.fits
    document.paragraph(
        "Collectives on the RTL (make characterize-fabric, Icarus, ideal streams, every "
        "element checked against its reference): per topology and collective, alpha (cycles "
        "per step, message or, on a torus, phase's rendezvous) and beta (cycles per byte) "
        "fitted by least squares on all but the largest node count and the largest message "
        "size; those are held out, so each held-out error is an extrapolation in nodes, in "
        "size or both. Link efficiency is the ideal beta (one flit per cycle) over the fitted "
        "one. The all-reduce runs as a ring, storing or cutting through, on rings and through "
        "the switched fabric (the chips add, the switches do not), and dimension by dimension "
        "on 2-D tori and on 3-D tori with half-rate Z links (reduce-scatters along X, Y, Z, "
        "then all-gathers back: 'dimension-wise'), and on the tori also with two rings per "
        "dimension, one each way round over half of every chunk ('dimension-wise-"
        "bidirectional': its beta counts each link direction's half of the bytes; the two ways "
        "share the node's one port of a flit per cycle, so its link efficiency stays under "
        "50%, and the scaling layer takes the one-way fit); the direct all-reduce (Neuron's "
        "Mesh: every chunk straight to the chip that adds it, the sum straight back, two steps "
        "whatever the nodes: 'direct') runs on switched fabrics with an up link per chip of a "
        "server, the fit the switch's all-reduce takes, and on 2-D tori; reduce-scatter and "
        "all-gather are "
        "also measured on their own on rings, switches and tori; the all-to-all sends one "
        "packet per destination from one port, on rings, tori and the switched fabric.")
    document.table(
        ["topology", "collective", "element", "alpha (cycles)", "beta (cycles/B)",
         "link efficiency", "nodes", "message bytes", "fitted / held out", "fit error",
         "held-out error"],
        [[fit.topology, f"{fit.collective} ({fit.algorithm})", fit.element,
          number(fit.alpha_cycles), number(fit.beta_cycles_per_byte),
          percent(fit.link_efficiency), f"{fit.nodes_min}-{fit.nodes_max}",
          f"{fit.bytes_min}-{fit.bytes_max}", f"{fit.fitted_points} / {fit.held_out_points}",
          percent(fit.fit_max_error), percent(fit.held_out_max_error)] for fit in fits],
        numeric=(3, 4, 5, 9, 10))


def _runs(document, collectives):
    document.table(
        ["topology", "design", "collective", "element", "nodes", "message bytes",
         "RTL cycles", "model cycles", "error", "held out"],
        [[run.topology, run.design, run.collective, run.element, run.nodes,
          run.message_bytes, run.rtl_cycles, number(run.model_cycles),
          signed_percent(run.error), "yes" if run.held_out else "no"]
         for run in collectives], numeric=(4, 5, 6, 7, 8))


def _figures(document, figures):
    document.paragraph(
        "The UltraServers' collectives as the scaling layer computes them (transfer time, the "
        "per-collective software cost excluded). Cycles become seconds at the fabric clock "
        "(alpha) plus one DMA start per step (a torus phase's rendezvous: alpha alone), and "
        "one RTL flit per cycle is the spec's bandwidth of the corresponding link (beta). A "
        "figure is 'measured range' only when its topology, node count and message size all "
        "lie within what the RTL ran; every other is extrapolated, and the row says from what "
        "and how far.")
    document.table(
        ["system", "collective", "bytes", "time", "source"],
        [[figure.system.name, figure.collective, binary_bytes(figure.size_bytes),
          si(figure.seconds, "s"), figure.provenance.describe()] for figure in figures])


def collectives_section(document, runs):
    """Add the collective fits, runs and UltraServer figures of ``runs`` (ReportRuns), when the
    fabric characterization holds collectives."""
    if not runs.calibration.fits:
        return
    document.heading("Collectives measured on the RTL", level=3)
    _fits(document, runs)
    _runs(document, runs.inputs["fabric"].document.collectives)
    _figures(document, runs.collectives)
