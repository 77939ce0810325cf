"""PSUM: the accumulation buffer at the bottom of the array, and the result stream it feeds.

Each array column m (an output partition) owns one :class:`PsumColumn` leaf of
``psum_banks * psum_depth`` accumulator entries. A moving vector's partial sums leave the bottom
row one column per cycle, so each column writes on its own cycle, following a tag that travels
along a delay line (in ``hdl.tile``, next to the columns it addresses). Accumulation is a
read-modify-write: the column reads the entry one cycle before its partial sum arrives; the
read port is transparent to the column's write port, so back-to-back vectors that accumulate
into the same entry see each other's sums.

On a tile with ``bf16_psum`` each write goes through :class:`~hdl.bf16_psum.PsumWrite`: FP32 or
BF16 (its 16 bits in the low half of the word, zeros above), overwrite or accumulate, nearest
even or stochastic with the lane's random bits (docs/numerics.md R16-R17).
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .bf16_psum import PsumWrite
from .isa import result_layout
from .numerics import arithmetic
from .sequencer import psum_access_layout
from .shapes import index_shape
from sim_models.bf16_psum import SR_RANDOM_BITS

__all__ = ["PsumColumn", "ResultStage", "psum_address", "psum_column_signature"]


def psum_column_signature(config):
    """Ports of :class:`PsumColumn` (see its Members)."""
    address = index_shape(config.psum_banks * config.psum_depth)
    accumulator = arithmetic(config).accumulator_shape
    members = {
        "lookup_addr": In(address),
        "write_addr": In(address),
        "write_en": In(1),
        "write_accumulate": In(1),
        "partial": In(accumulator),
        "readout_addr": In(address),
        "readout_en": In(1),
        "readout_data": Out(accumulator),
    }
    if config.bf16_psum:
        members.update(write_bf16=In(1), write_stochastic=In(1), random=In(SR_RANDOM_BITS))
    return wiring.Signature(members)


class PsumColumn(wiring.Component):
    """PSUM entries of one output partition: ``psum_banks * psum_depth`` accumulators.

    Parameters
    ----------
    config : TileConfig

    Members
    -------
    lookup_addr : In(address)
        Entry the next cycle's accumulating write will add to (read one cycle ahead).
    write_addr, write_en, write_accumulate, partial : In
        Write ``partial`` (or the looked-up entry plus ``partial``) at ``write_addr``.
    write_bf16, write_stochastic, random : In
        With ``bf16_psum`` only: write as BF16, round stochastically with the 16 ``random``
        bits (``hdl.bf16_psum.PsumWrite``).
    readout_addr, readout_en : In
        Entry to read for the result stream; the data register holds while ``readout_en`` is
        low.
    readout_data : Out(accumulator)
        Entry read at ``readout_addr`` in the last cycle ``readout_en`` was set.
    """
    def __init__(self, config):
        self._config = config
        super().__init__(psum_column_signature(config))

    def elaborate(self, platform):
        config = self._config
        m = Module()
        m.submodules.entries = entries = Memory(
            shape=arithmetic(config).accumulator_shape,
            depth=config.psum_banks * config.psum_depth, init=[])
        write = entries.write_port()
        lookup = entries.read_port(transparent_for=(write,))
        readout = entries.read_port()
        if config.bf16_psum:
            m.submodules.write = psum_write = PsumWrite()
            destination = Cat(self.write_bf16, self.write_accumulate, self.write_stochastic)
            m.d.comb += [psum_write.incoming.eq(self.partial),
                         psum_write.stored.eq(lookup.data),
                         psum_write.destination.eq(destination),
                         psum_write.random.eq(self.random)]
            write_data = psum_write.word
        else:
            write_data = Mux(self.write_accumulate,
                             arithmetic(config).accumulate(m, lookup.data, self.partial),
                             self.partial)
        m.d.comb += [
            lookup.addr.eq(self.lookup_addr),
            write.addr.eq(self.write_addr),
            write.en.eq(self.write_en),
            write.data.eq(write_data),
            readout.addr.eq(self.readout_addr),
            readout.en.eq(self.readout_en),
            self.readout_data.eq(readout.data),
        ]
        return m


def psum_address(config, access):
    """PSUM entry of ``access`` (a ``psum_access_layout`` view): ``bank * depth + column``."""
    width = psum_column_signature(config).members["lookup_addr"].shape.width
    return (access.bank * config.psum_depth + access.column)[:width]


class ResultStage(wiring.Component):
    """Read-out stage: turns PSUM reads into the result stream.

    The stage's data registers are the PSUM columns' read ports (``readout_en`` =
    ``read_advance``), so the stage adds only a valid bit and the lane count.

    Parameters
    ----------
    config : TileConfig

    Members
    -------
    read_request : In(psum_access_layout)
        A PSUM column read this cycle; taken only while ``read_advance`` is set.
    read_advance : Out(1)
        The stage is empty or being emptied this cycle, so the columns may read.
    readout : In(ArrayLayout(accumulator, C))
        The PSUM columns' read data.
    result : Out(stream.Signature(result_layout))
        One result vector per read request, lanes at or above the request's width zeroed.
    """
    def __init__(self, config):
        self._config = config
        super().__init__({
            "read_request": In(psum_access_layout(config)),
            "read_advance": Out(1),
            "readout": In(data.ArrayLayout(arithmetic(config).accumulator_shape,
                                           config.cols)),
            "result": Out(stream.Signature(result_layout(config))),
        })

    def elaborate(self, platform):
        m = Module()
        result_valid = Signal()
        width = Signal.like(self.read_request.width)
        m.d.comb += [
            self.result.valid.eq(result_valid),
            self.read_advance.eq(~result_valid | self.result.ready),
        ]
        with m.If(self.read_advance):
            m.d.sync += [
                result_valid.eq(self.read_request.valid),
                width.eq(self.read_request.width),
            ]
        for col in range(self._config.cols):
            m.d.comb += self.result.payload[col].eq(Mux(col < width, self.readout[col], 0))
        return m
