"""The tile's instruction stream: a tile program packed into the beats of its op, stationary
and moving streams (``hdl.isa``'s op layout, operands as packed lanes)."""

from dataclasses import dataclass

import numpy as np

from hdl.isa import Opcode, op_layout
from sim_models.program import LoadStationary, MultiplyMoving, ReadPsum

from .streams import pack, pack_array

__all__ = ["ProgramPacker", "StreamBeats"]


@dataclass
class StreamBeats:
    """Packed beats of one program on the three input streams, and the result beat count.

    Members
    -------
    ops : list of int
        One op beat per operation (``hdl.isa.op_layout``).
    stationary : list of int
        K beats per LoadStationary: a row of C operand lanes each.
    moving : list of int
        N beats per MultiplyMoving: a column of R operand lanes each.
    results : int
        Result beats the program's reads return: the sum of their N.
    """
    ops: list
    stationary: list
    moving: list
    results: int


class ProgramPacker:
    """Packs a tile program into the beats of the tile's op, stationary and moving streams.

    Parameters
    ----------
    config : TileConfig
    """
    def __init__(self, config):
        self.config = config
        self._layout = op_layout(config)
        self._op_cache = {}

    def _pack_op(self, operation):
        if isinstance(operation, LoadStationary):
            fields = (Opcode.LOAD_STATIONARY, operation.k, operation.m, 0, 0, 0)
        elif isinstance(operation, MultiplyMoving):
            fields = (Opcode.MULTIPLY_MOVING, 0, 0, operation.n, operation.bank,
                      int(operation.accumulate))
        else:
            fields = (Opcode.READ_PSUM, 0, operation.m, operation.n, operation.bank, 0)
        if fields not in self._op_cache:
            names = ("opcode", "k", "m", "n", "bank", "accumulate")
            self._op_cache[fields] = pack(self._layout, dict(zip(names, fields)))
        return self._op_cache[fields]

    def beats(self, program):
        """The packed beats of ``program`` and the number of result beats it reads."""
        rows, cols = self.config.rows, self.config.cols
        width = self.config.lane_bits
        stationary = [np.pad(op.stationary, ((0, 0), (0, cols - op.m)))
                      for op in program if isinstance(op, LoadStationary)]
        moving = [np.pad(op.moving.T, ((0, 0), (0, rows - op.k)))
                  for op in program if isinstance(op, MultiplyMoving)]
        return StreamBeats(
            ops=[self._pack_op(op) for op in program],
            stationary=pack_array(width, np.vstack(stationary)) if stationary else [],
            moving=pack_array(width, np.vstack(moving)) if moving else [],
            results=sum(op.n for op in program if isinstance(op, ReadPsum)))
