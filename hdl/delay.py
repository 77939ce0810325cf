"""Register delay lines, the building block of the skew buffers and of the control pipelines."""

from amaranth.hdl import Signal

__all__ = ["delay_line"]


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
