"""What the harnesses of designs with streams per node share: the handles of ``<name>__<node>``
streams, reset with every stream idle, waiting for driver and monitor tasks under a cycle
budget, and the check that nothing more comes out."""

from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from .harness_timing import start_clock

__all__ = ["NodeStreamsHarness"]


class NodeStreamsHarness:
    """Streams of every node of a design, named ``<name>__<node>``.

    Parameters
    ----------
    dut : cocotb handle of the top module
    nodes : int
    inputs, outputs : tuple of str
        Names of each node's input and output streams; valid (inputs) and ready (outputs)
        are held low during reset.
    """
    def __init__(self, dut, nodes, inputs, outputs):
        self.dut = dut
        self.nodes = nodes
        self._inputs, self._outputs = inputs, outputs
        start_clock(dut.clk)

    def stream(self, name, node):
        """(valid, ready, payload) handles of stream ``name`` of ``node``."""
        return [getattr(self.dut, f"{name}__{node}__{signal}")
                for signal in ("valid", "ready", "payload")]

    async def reset(self, cycles=3):
        """Hold reset with every valid and ready low; release it just after a rising edge."""
        for node in range(self.nodes):
            for name in self._inputs:
                self.stream(name, node)[0].value = 0
            for name in self._outputs:
                self.stream(name, node)[1].value = 0
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, cycles)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    async def finish(self, tasks, timeout, counter, unfinished):
        """Wait for every task; once ``counter`` passes ``timeout`` cycles, cancel them and
        fail with ``unfinished()`` (a message). Then check, 20 cycles on, that no output
        stream offers anything more."""
        while not all(task.done() for task in tasks):
            await ClockCycles(self.dut.clk, 8)
            if counter.cycle > timeout:
                message = unfinished()
                for task in tasks:
                    task.cancel()
                raise AssertionError(message)
        await ClockCycles(self.dut.clk, 20)
        await ReadOnly()
        extra = [f"{name}__{node}" for node in range(self.nodes) for name in self._outputs
                 if self.stream(name, node)[0].value == 1]
        assert not extra, f"Streams {', '.join(extra)} offer results beyond the expected ones"
        await RisingEdge(self.dut.clk)
