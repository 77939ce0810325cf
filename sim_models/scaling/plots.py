"""The report's figures, drawn with matplotlib (headless) into PNG files.

Every function takes the numbers to draw, already computed by the model, and a path; none
computes anything itself.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

__all__ = ["roofline", "utilization", "model_against_rtl", "scaling", "generations"]

_DPI = 110


def _save(figure, path):
    figure.tight_layout()
    figure.savefig(path, dpi=_DPI, metadata={"Software": None})
    plt.close(figure)


def roofline(path, panels):
    """One roofline per chip, side by side.

    Parameters
    ----------
    panels : list of dict
        ``name``; ``peak`` (FLOP/s) and ``bandwidth`` (HBM bytes/s); ``datatype``;
        ``points``: list of (label, intensity in FLOP/byte, achieved FLOP/s).
    """
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.2), sharey=True)
    for axis, panel in zip(axes, panels):
        ridge = panel["peak"] / panel["bandwidth"]
        intensities = [0.5, ridge, 1e4]
        axis.loglog(intensities, [min(panel["peak"], i * panel["bandwidth"]) / 1e12
                                  for i in intensities], color="black", linewidth=1.5)
        axis.axvline(ridge, color="grey", linestyle=":", linewidth=1)
        for label, intensity, achieved in panel["points"]:
            axis.loglog(intensity, achieved / 1e12, "o", markersize=5, label=label)
        axis.set_title(f"{panel['name']} ({panel['datatype']}, ridge {ridge:.0f} FLOP/B)")
        axis.set_xlabel("arithmetic intensity (FLOP per HBM byte)")
        axis.grid(True, which="both", alpha=0.3)
        if panel["points"]:
            axis.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("TFLOP/s")
    _save(figure, path)


def utilization(path, curves, measured):
    """Tensor Engine utilization against the moving free size N.

    Parameters
    ----------
    curves : dict of str to (list of int, list of float)
        Label -> (N values, utilization 0..1) from the cycle model.
    measured : list of (int, float, str)
        (N, utilization, label) of RTL-simulated GEMMs.
    """
    figure, axis = plt.subplots(figsize=(7, 4.2))
    for label, (sizes, values) in curves.items():
        axis.semilogx(sizes, [100 * value for value in values], label=label)
    for index, (size, value, label) in enumerate(measured):
        axis.semilogx(size, 100 * value, "kx", markersize=8,
                      label="RTL simulation" if index == 0 else None)
        axis.annotate(label, (size, 100 * value), fontsize=6, xytext=(3, -9),
                      textcoords="offset points")
    axis.set_xlabel("moving free size N (columns streamed per stationary)")
    axis.set_ylabel("utilization of the 128 x 128 array (%)")
    axis.set_ylim(0, 105)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7, loc="lower right")
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
    axis.set_xlabel("RTL cycles (simulated)")
    axis.set_ylabel("cycle model")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7)
    _save(figure, path)


def scaling(path, series):
    """Achieved PFLOP/s and scaling efficiency against chips.

    Parameters
    ----------
    series : dict of str to list of (int, float, float)
        Label -> (chips, achieved FLOP/s, efficiency 0..1) points.
    """
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, points in series.items():
        chips, achieved, efficiency = zip(*points)
        left.loglog(chips, [value / 1e15 for value in achieved], "o-", markersize=4,
                    label=label)
        right.semilogx(chips, [100 * value for value in efficiency], "o-", markersize=4,
                       label=label)
    left.set_ylabel("achieved PFLOP/s (model FLOPs)")
    right.set_ylabel("efficiency: MFU at n chips / MFU on 1 chip (%)")
    for axis in (left, right):
        axis.set_xlabel("chips")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    right.set_ylim(0, 105)
    _save(figure, path)


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
    axis.set_xlabel("Trainium3 / Trainium2 (model)")
    axis.invert_yaxis()
    axis.grid(True, axis="x", alpha=0.3)
    _save(figure, path)
