"""Checks of a tile run: values against the golden model and an independent reference,
handshake cycles against the cycle model, and the handshake timing measured on the ports."""

import numpy as np

from sim_models.cycle_model import CONTROL_KINDS, time_program
from sim_models.golden import TileModel
from sim_models.program import (LoadFp4Table, LoadStationary, MultiplyMoving, ReadPsum,
                                ReseedRounding)

from .checker import check_equal
from .scenarios import check_reference

__all__ = ["check_gemm", "check_timing", "check_values", "handshake_agreement",
           "measured_timing"]


def _operation_beats(program, transfers):
    """Per operation: the cycles of its data beats (K stationary, or ceil(K / 2) in
    double-row mode; N moving or N result beats; none for a reseed or a table load)."""
    streams = {LoadStationary: "stationary", MultiplyMoving: "moving", ReadPsum: "result"}
    taken = dict.fromkeys(streams.values(), 0)
    beats = []
    for op in program:
        if isinstance(op, (ReseedRounding, LoadFp4Table)):
            beats.append([])
            continue
        name = streams[type(op)]
        size = op.beats if isinstance(op, LoadStationary) else op.n
        beats.append(transfers[name].cycles[taken[name]:taken[name] + size])
        taken[name] += size
    return beats


def measured_timing(program, transfers):
    """Per operation: (accepted, first beat, last beat) cycles as seen on the ports (a reseed or
    a table load, which have no data beats: (accepted, None, None))."""
    return [(accepted, beats[0], beats[-1]) if beats else (accepted, None, None)
            for accepted, beats
            in zip(transfers["op"].cycles, _operation_beats(program, transfers))]


def _predicted(timing):
    """The port handshakes of one operation the cycle model predicts: (accepted, first beat,
    last beat), or (accepted, None, None) for a reseed or a table load, which act inside the
    tile."""
    if timing.kind in CONTROL_KINDS:
        return timing.accepted, None, None
    return timing.accepted, timing.first_beat, timing.last_beat


def handshake_agreement(model, program, transfers):
    """Count the port handshakes of ``program`` that happened in the cycle ``model`` predicts.

    Every operation has one handshake on the op stream and one per data beat; the model puts
    the beats of an operation in the consecutive cycles ``first_beat .. last_beat``.

    Returns
    -------
    (int, int)
        Handshakes compared, and how many of them happened in the predicted cycle.
    """
    checked = matching = 0
    for timing, accepted, beats in zip(model.operations, transfers["op"].cycles,
                                       _operation_beats(program, transfers)):
        accepted_cycle, first, last = _predicted(timing)
        expected = [accepted_cycle, *(range(first, last + 1) if first is not None else ())]
        got = [accepted, *beats]
        checked += max(len(expected), len(got))
        matching += sum(want == cycle for want, cycle in zip(expected, got))
    return checked, matching


def _last_handshake(cycles):
    """The cycle of an operation's last handshake, from its (accepted, first, last) cycles."""
    return cycles[0] if cycles[2] is None else cycles[2]


def check_timing(config, name, program, transfers, exact):
    """Compare every handshake cycle with the cycle model; return the model's timing."""
    model = time_program(config, program)
    measured = measured_timing(program, transfers)
    problems = []
    for index, (expected, got) in enumerate(zip(model.operations, measured)):
        want = _predicted(expected)
        if (want != got) if exact else _last_handshake(got) < _last_handshake(want):
            problems.append(f"  op {index} ({expected.kind}): model accepted/first/last "
                            f"{want}, RTL {got}")
    if problems:
        relation = "equal" if exact else "be no earlier than"
        raise AssertionError(f"{name}: RTL cycles must {relation} the cycle model for "
                             f"{len(problems)} of {len(program)} operations:\n" +
                             "\n".join(problems[:100]))
    return model


def check_values(config, scenario, reads):
    """Compare every read with the golden model, lanes >= M included (they must be zero), and
    with the scenario's independent ``expected`` reads when it has them."""
    expected_reads = TileModel(config).execute(scenario.program)
    for index, (expected, got) in enumerate(zip(expected_reads, reads)):
        padded = np.zeros((config.cols, expected.shape[1]), np.int64)
        padded[:expected.shape[0]] = expected
        check_equal(padded, got, f"{scenario.name}: read {index}")
    for index, (expected, got) in enumerate(zip(scenario.expected or [], reads)):
        check_equal(expected, got[:expected.shape[0]], f"{scenario.name}: read {index} "
                    f"against its independent reference")
    if scenario.gemm is not None:
        trimmed = [read[:tile.m] for read, tile in zip(reads, scenario.gemm.tiles)]
        check_reference(config, scenario, scenario.gemm.assemble(trimmed))


def check_gemm(config, scenario, outcome):
    """Every check of a GEMM run with ideal streams: every result element (:func:`check_values`)
    and every handshake in the cycle the cycle model predicts; return the model's timing and
    the handshakes compared and matching (all of them)."""
    transfers = outcome["transfers"]
    check_values(config, scenario, outcome["reads"])
    model = check_timing(config, scenario.name, scenario.program, transfers, exact=True)
    checked, matching = handshake_agreement(model, scenario.program, transfers)
    return model, checked, matching
