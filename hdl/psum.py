"""PSUM: the accumulation buffer at the bottom of the array, and the result stream it feeds.

Each array column m (an output partition) owns one memory (a :class:`PsumColumn` leaf) of ``psum_banks * psum_depth``
accumulator entries. A moving vector's partial sums leave the bottom row one column per cycle,
so each column writes on its own cycle, following a tag that travels along a delay line.
Accumulation is a read-modify-write: the column reads the entry one cycle before its partial sum
arrives; the read port is transparent to the column's write port, so back-to-back vectors that
accumulate into the same entry see each other's sums.
"""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .delay import delay_line
from .isa import result_layout
from .leaf import instantiate, leaf_module_name
from .sequencer import psum_access_layout

__all__ = ["PsumBuffer", "PsumColumn", "psum_column_signature"]


def psum_column_signature(config):
    """Ports of :class:`PsumColumn` (see its Members)."""
    address = unsigned((config.psum_banks * config.psum_depth - 1).bit_length() or 1)
    accumulator = config.operands.accumulator_shape
    return wiring.Signature({
        "lookup_addr": In(address),
        "write_addr": In(address),
        "write_en": In(1),
        "write_accumulate": In(1),
        "partial": In(accumulator),
        "readout_addr": In(address),
        "readout_en": In(1),
        "readout_data": Out(accumulator),
    })


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
            shape=config.operands.accumulator_shape,
            depth=config.psum_banks * config.psum_depth, init=[])
        write = entries.write_port()
        lookup = entries.read_port(transparent_for=(write,))
        readout = entries.read_port()
        m.d.comb += [
            lookup.addr.eq(self.lookup_addr),
            write.addr.eq(self.write_addr),
            write.en.eq(self.write_en),
            write.data.eq(Mux(self.write_accumulate,
                              config.operands.accumulate(lookup.data, self.partial),
                              self.partial)),
            readout.addr.eq(self.readout_addr),
            readout.en.eq(self.readout_en),
            self.readout_data.eq(readout.data),
        ]
        return m


class PsumBuffer(wiring.Component):
    """PSUM banks of one tile, with the write pipeline and the read-out stage.

    Parameters
    ----------
    config : TileConfig

    Members
    -------
    write_tag : In(psum_access_layout)
        The PSUM write of a moving vector, in the cycle the vector enters the array.
    partials : In(ArrayLayout(accumulator, C))
        Bottom-row partial sums; column m carries the vector that entered R + m cycles ago.
    read_request : In(psum_access_layout)
        A PSUM column to read now; taken only while ``read_advance`` is set.
    read_advance : Out(1)
        The read-out stage is empty or being emptied this cycle.
    result : Out(stream.Signature(result_layout))
        One result vector per read request, lanes at or above the request's width zeroed.
    """
    def __init__(self, config):
        self._config = config
        super().__init__({
            "write_tag": In(psum_access_layout(config)),
            "partials": In(data.ArrayLayout(config.operands.accumulator_shape, config.cols)),
            "read_request": In(psum_access_layout(config)),
            "read_advance": Out(1),
            "result": Out(stream.Signature(result_layout(config))),
        })

    def _address(self, access):
        address = psum_column_signature(self._config).members["lookup_addr"].shape
        return (access.bank * self._config.psum_depth + access.column)[:address.width]

    def elaborate(self, platform):
        config = self._config
        operands = config.operands
        m = Module()

        # Tap R + m is the tag of the vector whose partial sum column m gets next cycle.
        tags = delay_line(m, self.write_tag, config.rows + config.cols, name="tag")

        # Read-out stage: the read ports' data registers, plus the valid bit and lane count.
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

        signature = psum_column_signature(config)
        for col in range(config.cols):
            lookup, arriving = tags[config.rows + col], tags[config.rows + col + 1]
            readout_data = Signal(config.operands.accumulator_shape, name=f"readout_{col}")
            m.submodules[f"column{col}"] = instantiate(
                leaf_module_name("psum_column", config), signature, {
                    "lookup_addr": self._address(lookup),
                    "write_addr": self._address(arriving),
                    "write_en": arriving.valid & (col < arriving.width),
                    "write_accumulate": arriving.accumulate,
                    "partial": self.partials[col],
                    "readout_addr": self._address(self.read_request),
                    "readout_en": self.read_advance,
                    "readout_data": readout_data,
                })
            m.d.comb += self.result.payload[col].eq(Mux(col < width, readout_data, 0))
        return m
