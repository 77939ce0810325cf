"""Leaf modules: components emitted once as Verilog modules and instantiated many times.

A tile repeats two units C times: a column of R PEs and a PSUM column. Elaborating every copy
makes generation time grow with R x C (a flat 128 x 128 array takes minutes); emitting each
unit once and placing ``Instance``s of it keeps it near R + C. ``hdl.emit`` writes the leaf
modules next to the tile. A floating-point column of more than 8 rows instantiates a third
leaf, its group of PE rows (``hdl.pe_column.PEGroup``), and every PE the FloatMac
(:data:`FLOAT_MAC`).
"""

from amaranth.hdl import Cat, ClockSignal, Instance, ResetSignal, Shape, Value
from amaranth.lib.wiring import In

__all__ = ["FLOAT_MAC", "LEAF_KINDS", "instantiate", "leaf_module_name"]

#: The leaf modules every tile instantiates C times, by kind: a column of R PEs and a PSUM
#: column (``hdl.pe_column``, ``hdl.psum``).
LEAF_KINDS = ("pe_column", "psum_column")
#: The leaf a floating-point tile adds: its PEs' multiply-accumulate (``hdl.float_arith``),
#: emitted once and instantiated in every PE, but Verilated inside its PE column's (or PE
#: group's) hierarchical block (``tb.launch.hierarchical_config``).
FLOAT_MAC = "float_mac"


def leaf_module_name(kind, config):
    """Verilog module name of a leaf, e.g. ``systolic_pe_column_r8c16_int8``."""
    return f"systolic_{kind}_{config.name}"


def instantiate(module_name, signature, ports, *, clocked=True):
    """``Instance`` of a leaf module whose ports are the members of ``signature``.

    Parameters
    ----------
    module_name : str
        Verilog module name, as given by :func:`leaf_module_name`.
    signature : wiring.Signature
        Signature of the leaf component (port members only, one level).
    ports : dict
        Maps each member name to a value, or to a list of values concatenated LSB first.
    clocked : bool
        The leaf has registers, so ``clk`` and ``rst`` ports (a combinational leaf has none).
    """
    arguments = {}
    for name, member in signature.members.items():
        value = ports[name]
        value = Cat(*value) if isinstance(value, list) else Value.cast(value)
        width = Shape.cast(member.shape).width
        if len(value) != width:
            raise ValueError(f"Port '{name}' of {module_name} is {width} bits wide, "
                             f"not {len(value)}")
        prefix = "i_" if member.flow == In else "o_"
        arguments[prefix + name] = value
    if clocked:
        arguments.update(i_clk=ClockSignal(), i_rst=ResetSignal())
    return Instance(module_name, **arguments)
