"""The step model against AWS's published measurements: the few fitted parameters, and the error
on every row, calibration and validation apart.

Three :class:`~sim_models.scaling.assumptions.Assumptions` fields are fitted, each on the
calibration rows of one kind, one row each (every other mechanism comes from published figures
and the RTL):

- ``layer_overhead_seconds`` on the training calibration row: a fixed time per layer and
  training pass beyond the modelled engines;
- ``prefill_efficiency`` on the prefill calibration row: the fraction of the cycle model's
  Tensor Engine rate the prefill kernels reach;
- ``collective_seconds`` on the decode calibration row: the software cost of one collective.

:func:`fit` solves for them (each so that the model matches its rows' geometric mean, by
bisection, alternating until all settle); the defaults of ``Assumptions`` hold its result,
and a test checks that they still do. :func:`check_rows` gives, per row, the model's figure,
the published one, the error, the role and an explanation: the model's time by mechanism, and
the value the row's fitted parameter would need to close its gap alone (the spread of those
values over the rows is what one parameter cannot capture).
"""

import math
from dataclasses import dataclass, replace

from .decode import decode_step
from .measurements import load_measurements
from .parallel import TrainingPlan, system_of_chips
from .prefill import prefill_step
from .training import training_step

__all__ = ["GOAL", "FITTED", "GAP_PARAMETER", "RowCheck", "model_figure", "check_rows", "fit"]

#: The error the model aims to stay within on every row.
GOAL = 0.15
#: Fitted field -> (the kind of row it is fitted on, its search interval).
FITTED = {"layer_overhead_seconds": ("training", (0.0, 0.05)),
          "prefill_efficiency": ("prefill", (0.05, 1.0)),
          "collective_seconds": ("decode", (0.0, 1e-3))}
#: The fitted field whose value would close a row's gap alone, by kind of row (prefill rows fit
#: nothing: their gap is stated as the per-collective cost it would take).
GAP_PARAMETER = {"training": "layer_overhead_seconds", "decode": "collective_seconds",
                 "prefill": "prefill_efficiency"}
_ROUNDS, _STEPS = 4, 40
#: How each fitted field is shown: (scale, unit).
_DISPLAY = {"layer_overhead_seconds": (1e3, "ms"), "prefill_efficiency": (100.0, "%"),
            "collective_seconds": (1e6, "us")}


@dataclass(frozen=True)
class RowCheck:
    """One measurement beside the model.

    Members
    -------
    key, role, kind, unit : str
    model : float or None
        The model's figure in ``unit``; None if the configuration does not fit in memory.
    published : float
    explanation : str
        The model's time by mechanism, whether the row is within :data:`GOAL`, the value of
        its fitted parameter that would close the gap alone and, outside the goal, the row's
        ``miss``: why the model misses it, by mechanism.
    """
    key: str
    role: str
    kind: str
    unit: str
    model: object
    published: float
    explanation: str

    @property
    def error(self):
        """(model - published) / published, or None."""
        return None if self.model is None else (self.model - self.published) / self.published


def _step(specs, workloads, measurement, calibration, assumptions):
    system = system_of_chips(specs, specs.system(measurement.system), measurement.chips)
    workload = workloads[measurement.workload]
    config = measurement.config
    if measurement.kind == "training":
        plan = TrainingPlan(config["tp"], config["pp"], config["dp"], config["micro_batch"],
                            config["global_batch"], config["sequence"], config["datatype"],
                            config["zero_stage"], config["recompute"])
        return training_step(specs, system, workload, calibration, assumptions, plan)
    if measurement.kind == "prefill":
        return prefill_step(specs, system, workload, config["prompt"], config["batch"],
                            calibration, assumptions, tp=config["tp"],
                            datatype=config["datatype"])
    return decode_step(specs, system, workload, config["batch"], calibration, assumptions,
                       tp=config["tp"], context=config["context"], datatype=config["datatype"])


def model_figure(specs, workloads, measurement, calibration, assumptions):
    """The model's figure for ``measurement`` in its unit (sequences/s of the system, ms per
    token, or ms to the first token), and the step; the figure is None if the configuration
    does not fit."""
    step = _step(specs, workloads, measurement, calibration, assumptions)
    if not step.fits:
        return None, step
    if measurement.kind == "training":
        return measurement.config["global_batch"] / step.seconds, step
    return 1e3 * step.seconds, step


def _breakdown(step, kind):
    if kind == "training":
        return (f"slot {1e3 * step.slot_seconds:.0f} ms x {step.slots} (GEMMs "
                f"{1e3 * step.tensor_seconds:.0f} ms, other engines "
                f"{1e3 * step.engine_seconds:.0f} ms, TP all-reduces "
                f"{1e3 * step.tp_seconds:.0f} ms, PP sends {1e3 * step.pp_seconds:.1f} ms), "
                f"bubble {step.bubble_seconds:.2f} s, DP reduction {step.dp_seconds:.2f} s "
                f"({step.dp_exposed_seconds:.2f} s exposed), optimizer "
                f"{step.optimizer_seconds:.2f} s; MFU {100 * step.mfu:.1f}%")
    if kind == "prefill":
        return (f"GEMMs and other engines "
                f"{1e3 * step.compute_seconds:.2f} ms (unfused softmax "
                f"{1e3 * step.softmax_seconds:.2f} ms of them), TP all-reduces "
                f"{1e3 * step.communication_seconds:.2f} ms, first decode step "
                f"{1e3 * step.first_decode_seconds:.2f} ms; {_fitted_share(step)}")
    mappings = ", ".join(sorted(set(step.mappings)))
    return (f"weight GEMMs {1e3 * step.gemm_seconds:.2f} ms ({mappings}), "
            f"KV cache {1e3 * step.kv_seconds:.2f} ms, unfused softmax "
            f"{1e3 * step.softmax_seconds:.2f} ms, other engines "
            f"{1e3 * step.engine_busy_seconds:.2f} ms busy "
            f"({1e3 * step.engine_seconds:.2f} ms not hidden), TP all-reduces "
            f"{1e3 * step.communication_seconds:.2f} ms; {_fitted_share(step)}")


def _fitted_share(step):
    """How much of a prefill or decode step the fitted parameters decide."""
    return (f"fitted {1e3 * step.fitted_seconds:.2f} ms "
            f"({step.fitted_seconds / step.seconds:.0%} of it)")


def _solve(error_of, low, high):
    """The value in [low, high] where the monotonic ``error_of`` (log model / published)
    crosses zero, by bisection; an end of the interval if it does not cross."""
    rising = error_of(high) > error_of(low)
    for _ in range(_STEPS):
        middle = (low + high) / 2
        if (error_of(middle) > 0) == rising:
            high = middle
        else:
            low = middle
    return (low + high) / 2


def _log_error(specs, workloads, rows, calibration, assumptions):
    total = 0.0
    for row in rows:
        figure, _ = model_figure(specs, workloads, row, calibration, assumptions)
        if figure is None:
            return math.inf
        total += math.log(figure / row.figure)
    return total / len(rows)


def _needed(specs, workloads, measurement, calibration, assumptions):
    """The value of the row's fitted parameter that would close its gap alone."""
    name = GAP_PARAMETER[measurement.kind]
    low, high = FITTED[name][1]
    value = _solve(lambda x: _log_error(specs, workloads, [measurement], calibration,
                                        replace(assumptions, **{name: x})), low, high)
    return name, value


def _explain(specs, workloads, measurement, step, error, calibration, assumptions):
    name, value = _needed(specs, workloads, measurement, calibration, assumptions)
    fitted = getattr(assumptions, name)
    scale, unit = _DISPLAY[name]
    verdict = f"outside the {GOAL:.0%} goal" if abs(error) > GOAL else f"within {GOAL:.0%}"
    why = f". Why: {measurement.miss}" if abs(error) > GOAL and measurement.miss else ""
    return (f"{_breakdown(step, measurement.kind)}. {verdict[0].upper()}{verdict[1:]}: this row "
            f"alone would need {name} = {value * scale:.3g} {unit} against the fitted "
            f"{fitted * scale:.3g} {unit}{why}")


def check_rows(specs, workloads, calibration, assumptions, measurements=None):
    """Every measurement beside the model, as a tuple of :class:`RowCheck` (calibration rows
    first)."""
    rows = measurements if measurements is not None else load_measurements()
    checks = []
    for row in sorted(rows, key=lambda row: row.role):
        figure, step = model_figure(specs, workloads, row, calibration, assumptions)
        if figure is None:
            explanation = f"does not fit: {step.memory.describe()}"
        else:
            explanation = _explain(specs, workloads, row, step,
                                   (figure - row.figure) / row.figure, calibration, assumptions)
        checks.append(RowCheck(row.key, row.role, row.kind, row.unit, figure, row.figure,
                               explanation))
    return tuple(checks)


def fit(specs, workloads, calibration, assumptions, measurements=None):
    """``assumptions`` with every :data:`FITTED` field solved on its calibration rows."""
    rows = measurements if measurements is not None else load_measurements()
    for _ in range(_ROUNDS):
        for name, (kind, (low, high)) in FITTED.items():
            chosen = [row for row in rows if row.role == "calibration" and row.kind == kind]
            value = _solve(lambda x: _log_error(specs, workloads, chosen, calibration,
                                                replace(assumptions, **{name: x})), low, high)
            assumptions = replace(assumptions, **{name: value})
    return assumptions
