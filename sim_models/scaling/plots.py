"""The report's figures, drawn with matplotlib (headless) into PNG files.

Every function takes the numbers to draw, already computed by the model, and a path; none
computes anything itself.
"""

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

__all__ = ["roofline", "utilization", "model_against_rtl", "scaling", "generations"]

_DPI = 110


#: Markers that stay distinct in black and white, for series and points told apart by shape.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Line styles that stay distinct in grey, for model curves told apart by dash.
_LINES = ("-", "--", "-.", ":")
#: Tick labels with thousands separators (12,000, not 12000).
_THOUSANDS = matplotlib.ticker.StrMethodFormatter("{x:,.0f}")


def _save(figure, path, layout=True):
    """Write ``figure`` to ``path``; ``layout`` False keeps a layout the caller made (room for
    a legend outside the axes)."""
    if layout:
        figure.tight_layout()
    figure.savefig(path, dpi=_DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)


def roofline(path, panels):
    """One roofline per chip, side by side, the same marker for the same GEMM in every panel.

    Parameters
    ----------
    panels : list of dict
        ``name``; ``peak`` (FLOP/s) and ``bandwidth`` (HBM bytes/s); ``points``: list of
        (label, intensity in FLOP/byte, achieved FLOP/s), the same labels in every panel.
    """
    figure, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.6), sharey=True)
    styles = {}
    for axis, panel in zip(axes, panels):
        ridge = panel["peak"] / panel["bandwidth"]
        intensities = [0.5, ridge, 1e4]
        axis.loglog(intensities, [min(panel["peak"], i * panel["bandwidth"]) / 1e12
                                  for i in intensities], color="black", linewidth=1.5)
        axis.axvline(ridge, color="grey", linestyle=":", linewidth=1)
        for label, intensity, achieved in panel["points"]:
            marker, color = styles.setdefault(label, (_MARKERS[len(styles) % len(_MARKERS)],
                                                      f"C{len(styles)}"))
            # Hollow markers of different shapes and sizes stay visible where GEMMs of
            # nearly the same intensity coincide.
            axis.loglog(intensity, achieved / 1e12, marker, color=color,
                        markersize=6 + 2 * (len(styles) % 4), markerfacecolor="none",
                        markeredgewidth=1.6, linestyle="none",
                        label=label if axis is axes[0] else None)
        axis.set_title(f"{panel['name']}: ridge at {ridge:.0f} FLOP/B", fontsize=10)
        axis.set_xlabel("arithmetic intensity (FLOP per HBM byte)")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("TFLOP/s (line: roofline; markers: achieved)")
    figure.legend(loc="lower center", ncol=3, fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0.13, 1, 1))
    _save(figure, path, layout=False)


def utilization(path, curves, measured):
    """Tensor Engine utilization against the moving free size N.

    Parameters
    ----------
    curves : dict of str to (list of int, list of float)
        Label -> (N values, utilization 0..1) from the cycle model.
    measured : dict of str to list of (int, float)
        Format and mode -> (N, utilization 0..1 of the mode's peak) of each RTL-simulated GEMM,
        one marker and colour per format; the formats are nudged apart along N (a few per
        cent) so that GEMMs of the same N stay visible.
    """
    figure, axis = plt.subplots(figsize=(9, 4.6))
    for index, (label, (sizes, values)) in enumerate(curves.items()):
        axis.semilogx(sizes, [100 * value for value in values], color="0.45",
                      linestyle=_LINES[index % len(_LINES)], linewidth=1.2,
                      label=f"model, {label}")
    top = 100.0
    for index, (label, points) in enumerate(measured.items()):
        nudge = 1.06 ** (index - (len(measured) - 1) / 2)
        values = [100 * value for _, value in points]
        axis.semilogx([size * nudge for size, _ in points], values,
                      _MARKERS[index % len(_MARKERS)], color=f"C{index}", markersize=7,
                      markerfacecolor="none", markeredgewidth=1.5, linestyle="none",
                      label=f"RTL, {label}")
        top = max(top, *values)
    axis.set_xlabel("moving free size N (columns streamed per stationary load)")
    axis.set_ylabel("utilization of the mode's peak (%)")
    axis.set_ylim(0, 1.05 * top)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    _save(figure, path)


def model_against_rtl(path, points):
    """Cycles the RTL took against cycles the model predicts, one point per simulated GEMM.

    Parameters
    ----------
    points : list of (int, int, str)
        (RTL cycles, model cycles, array label).
    """
    figure, axis = plt.subplots(figsize=(5.5, 5))
    labels = sorted({label for _, _, label in points}, key=lambda text: (len(text), text))
    for label in labels:
        chosen = [(rtl, model) for rtl, model, name in points if name == label]
        axis.loglog(*zip(*chosen), "o", markersize=5, label=label)
    low = min(min(rtl, model) for rtl, model, _ in points)
    high = max(max(rtl, model) for rtl, model, _ in points)
    axis.loglog([low, high], [low, high], color="black", linewidth=1, label="model = RTL")
    axis.set_xlabel("RTL (cycles, simulated)")
    axis.set_ylabel("cycle model (cycles)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7)
    _save(figure, path)


def scaling(path, panels):
    """Small multiples of training throughput per chip against chips.

    Parameters
    ----------
    panels : list of (str, dict of str to list of (int, float, str, str, int))
        (title, label -> (chips, tokens/s per chip, system name, layout, tokens per step per
        chip) points), four panels drawn two by two, the same labels in each: the first label
        solid, the others dashed. The first series' layout is written where it changes; the
        tokens per step per chip go in the panel's title.
    """
    figure, axes = plt.subplots(2, 2, figsize=(10, 7.4), sharex=True)
    for axis, (title, series) in zip(axes.flat, panels):
        top = 0.0
        for index, (label, points) in enumerate(series.items()):
            chips, per_chip = [point[0] for point in points], [point[1] for point in points]
            axis.semilogx(chips, per_chip, _MARKERS[index] + ("-" if index == 0 else "--"),
                          markersize=6 if index == 0 else 8, markerfacecolor="none"
                          if index else None, label=label if axis is axes.flat[0] else None)
            top = max(top, *per_chip)
        first = next(iter(series.values()))
        previous = None
        for chips, per_chip, _, layout, _ in first:
            if layout != previous:
                axis.annotate(layout, (chips, per_chip), textcoords="offset points",
                              xytext=(0, 9), ha="center", fontsize=7, color="C0")
                previous = layout
        per_step = sorted({point[4] for points in series.values() for point in points})
        tokens = f"{per_step[0]:,}" if len(per_step) == 1 else \
            f"{per_step[0]:,}-{per_step[-1]:,}"
        axis.set_ylim(0, 1.25 * top)
        axis.yaxis.set_major_formatter(_THOUSANDS)
        axis.set_title(f"{title}: {tokens} tokens per step per chip", fontsize=9)
        axis.grid(True, which="both", alpha=0.3)
        axis.set_ylabel("tokens/s per chip")
    for axis in axes[1]:
        axis.set_xlabel("chips (log scale)")
    figure.legend(loc="lower center", ncol=2, fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    _save(figure, path, layout=False)


def generations(path, rows):
    """Trainium2 against Trainium3, one pair of bars per metric, as Trn3 / Trn2.

    Parameters
    ----------
    rows : list of (str, float, float)
        (metric, Trainium2 value, Trainium3 value), any unit per row.
    """
    figure, axis = plt.subplots(figsize=(8, 4.2))
    names = [name for name, _, _ in rows]
    ratios = [new / old for _, old, new in rows]
    bars = axis.barh(names, ratios, color="tab:blue")
    axis.axvline(1.0, color="black", linewidth=1)
    for bar, ratio in zip(bars, ratios):
        axis.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {ratio:.2f}x",
                  va="center", fontsize=8)
    axis.set_xlabel("Trainium3 / Trainium2 (ratio; 1 = no change)")
    axis.set_xlim(0, 1.15 * max(ratios))  # room for the labels right of the bars
    axis.invert_yaxis()
    axis.grid(True, axis="x", alpha=0.3)
    _save(figure, path)
