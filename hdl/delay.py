"""Register delay lines, the building block of the skew buffers and of the control pipelines."""

from amaranth.hdl import Cat, Signal, Value

__all__ = ["delay_line", "staircase"]


def delay_line(m, value, stages, *, name, reset_less=False):
    """Delay ``value`` through a chain of registers in the ``sync`` domain.

    Parameters
    ----------
    m : Module
        Module the registers are added to.
    value : Value or data.View
        Value entering the line; its shape (or layout) is kept by every stage.
    stages : int
        Length of the line in cycles.
    name : str
        Prefix of the register names (``{name}_0`` is the first stage).
    reset_less : bool
        True for datapath registers whose content is meaningless without a valid bit.

    Returns
    -------
    list of Signal
        ``stages + 1`` taps: tap 0 is ``value`` itself, tap ``j`` is ``value`` delayed by ``j``
        cycles.
    """
    taps = [value]
    for stage in range(stages):
        register = Signal(value.shape(), name=f"{name}_{stage}", reset_less=reset_less)
        m.d.sync += register.eq(taps[-1])
        taps.append(register)
    return taps


def staircase(m, values, delays, *, name):
    """Delay each of ``values`` by its own number of cycles through shared wide registers.

    The same registers as one :func:`delay_line` per value (one per value and cycle of its
    delay), grouped by stage: register ``s`` holds, side by side, the values still travelling
    after ``s + 1`` cycles. A simulator then copies one wide word per stage and cycle instead
    of one narrow word per value and stage: the moving skew of a 128 x 128 tile of pipelined
    PEs is about 1,100 stages instead of 73,000 registers (docs/simulation_speed.md).

    Parameters
    ----------
    m : Module
    values : list of Value or data.View
        Values of one width entering the staircase, each in every cycle.
    delays : list of int
        Cycles each value is delayed, non-decreasing (a value's delay is never below its
        predecessor's), each at least 0.
    name : str
        Prefix of the stage registers (``{name}_0`` is the first stage).

    Returns
    -------
    list of Value
        Each of ``values`` delayed by its delay (the value itself for a delay of 0), as plain
        ``Value``\\ s of its width. The registers are reset-less: datapath only.
    """
    if any(later < earlier for earlier, later in zip(delays, delays[1:])) or \
            (delays and delays[0] < 0):
        raise ValueError(f"Parameter 'delays' must be non-decreasing and non-negative, "
                         f"not {delays}")
    values = [Value.cast(value) for value in values]
    width = len(values[0]) if values else 0
    outputs = [value for value, delay in zip(values, delays, strict=True) if delay == 0]
    travelling = [value for value, delay in zip(values, delays) if delay > 0]
    stage = Cat(*travelling)
    first = len(outputs)     # index in values of the first value in ``stage``
    for cycle in range(1, (delays[-1] if delays else 0) + 1):
        register = Signal(len(stage), name=f"{name}_{cycle - 1}", reset_less=True)
        m.d.sync += register.eq(stage)
        arriving = sum(1 for delay in delays[first:] if delay == cycle)
        outputs += [register[index * width:(index + 1) * width] for index in range(arriving)]
        first += arriving
        stage = register[arriving * width:]
    return outputs
