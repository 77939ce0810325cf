"""BookSim2 configuration of the project's torus, and the figures read back from its output.

Pure functions (no BookSim, no simulator): :func:`booksim_config` writes the configuration
file text of a BookSim2 latency-mode run that mirrors a :class:`~sim_models.config.FabricConfig`
(same k and n, virtual channels, buffer depth per virtual channel, dimension-order routing with
a dateline, packet size, uniform random Bernoulli traffic), and :func:`parse_booksim_output`
reads the overall statistics BookSim2 prints at the end of a run.

Units: rates are flits per node per cycle, latencies cycles, packet sizes flits.
"""

import re
from dataclasses import dataclass

__all__ = ["BookSimError", "BookSimRouter", "booksim_config", "booksim_dims",
           "parse_booksim_output"]


class BookSimError(ValueError):
    """A configuration BookSim cannot mirror, or output that is not a finished run."""


@dataclass(frozen=True)
class BookSimRouter:
    """BookSim2's input-queued router timing (cycles), set as near the RTL's 2 cycles per hop
    as BookSim allows (see docs/booksim.md).

    ``routing_delay`` 0 is lookahead routing; ``speculative`` switch allocation overlaps the
    virtual-channel and switch allocation stages; BookSim's torus channels always take 1 cycle
    (the RTL's links take none), so a hop costs at least 1 (allocation) + 1 (switch traversal)
    + 1 (channel) cycles.
    """
    routing_delay: int = 0
    vc_alloc_delay: int = 1
    sw_alloc_delay: int = 1
    st_final_delay: int = 1
    credit_delay: int = 0
    speculative: int = 1

    @property
    def router_cycles(self):
        """Cycles a header spends in one router at zero load: one to be written into the input
        buffer, then routing, allocation (virtual-channel and switch in the same cycles when
        speculative) and switch traversal."""
        allocation = max(self.vc_alloc_delay, self.sw_alloc_delay) if self.speculative else \
            self.vc_alloc_delay + self.sw_alloc_delay
        return 1 + self.routing_delay + allocation + self.st_final_delay

    @property
    def per_hop_cycles(self):
        """Cycles per link crossed: a router and BookSim's 1-cycle torus channel."""
        return self.router_cycles + 1

    @property
    def zero_hop_cycles(self):
        """Header latency of a packet to its own node: injection channel, the router,
        ejection channel."""
        return 1 + self.router_cycles + 1

    def zero_load_latency(self, links, packet_flits):
        """Packet latency (cycles, creation to tail ejection) at zero load over ``links``
        links (a mean is allowed), the tail ``packet_flits - 1`` cycles behind the header."""
        return self.zero_hop_cycles + self.per_hop_cycles * links + packet_flits - 1


def booksim_dims(dims):
    """BookSim's (k, n) of a fabric with sides ``dims``: BookSim's torus has the same k in
    every dimension.

    Raises
    ------
    BookSimError
        If the sides differ.
    """
    if len(set(dims)) != 1:
        raise BookSimError(f"Parameter 'dims' must have equal sides for BookSim's k-ary n-cube, "
                           f"not {tuple(dims)!r}")
    return dims[0], len(dims)


def booksim_config(dims, *, vcs, buffer_depth, packet_flits, rate, seed=1,
                   router=BookSimRouter(), sample_period=1000, max_samples=10,
                   warmup_periods=3):
    """Text of a BookSim2 configuration file.

    Parameters
    ----------
    dims : tuple of int
        Nodes per dimension (equal sides): k = ``dims[0]``, n = ``len(dims)``.
    vcs : int
        Virtual channels per link (2: BookSim's ``dim_order_torus`` splits them into the two
        dateline classes).
    buffer_depth : int
        Flits per virtual channel buffer.
    packet_flits : int
        Flits per packet, header included.
    rate : float
        Offered load, flits per node per cycle, in (0, 1].
    seed : int
    router : BookSimRouter
    sample_period, max_samples, warmup_periods : int
        BookSim's measurement: cycles per sample, samples at most, warm-up samples.

    Raises
    ------
    BookSimError
        For sides that differ, an odd number of virtual channels, or a rate outside (0, 1].
    """
    k, n = booksim_dims(dims)
    if vcs < 2 or vcs % 2:
        raise BookSimError(f"Parameter 'vcs' must be an even number >= 2 (two dateline "
                           f"classes), not {vcs!r}")
    if not 0 < rate <= 1:
        raise BookSimError(f"Parameter 'rate' must be in (0, 1] flits per node per cycle, "
                           f"not {rate!r}")
    fields = {
        "topology": "torus", "k": k, "n": n,
        "routing_function": "dim_order",
        "num_vcs": vcs, "vc_buf_size": buffer_depth, "wait_for_tail_credit": 0,
        "router": "iq", "vc_allocator": "separable_input_first",
        "sw_allocator": "separable_input_first", "alloc_iters": 1,
        "routing_delay": router.routing_delay, "vc_alloc_delay": router.vc_alloc_delay,
        "sw_alloc_delay": router.sw_alloc_delay, "st_final_delay": router.st_final_delay,
        "credit_delay": router.credit_delay, "speculative": router.speculative,
        "input_speedup": 1, "output_speedup": 1, "internal_speedup": 1.0,
        "traffic": "uniform", "injection_process": "bernoulli",
        "packet_size": packet_flits, "injection_rate_uses_flits": 1,
        "injection_rate": f"{rate:.4f}",
        "sim_type": "latency", "warmup_periods": warmup_periods,
        "sample_period": sample_period, "max_samples": max_samples, "seed": seed,
    }
    return "".join(f"{name} = {value};\n" for name, value in fields.items())


#: Overall statistics of BookSim's final report: our name -> the line's label.
_OVERALL = {
    "packet_latency_cycles": "Packet latency average",
    "network_latency_cycles": "Network latency average",
    "flit_latency_cycles": "Flit latency average",
    "injected_flits_per_node_cycle": "Injected flit rate average",
    "accepted_flits_per_node_cycle": "Accepted flit rate average",
    "hops": "Hops average",
}


def parse_booksim_output(text):
    """Figures of one BookSim2 latency-mode run from its standard output.

    Returns
    -------
    dict
        ``stable`` (bool): False when BookSim declared the run unstable (past saturation);
        then only ``accepted_flits_per_node_cycle`` is given, that of the last sample period
        BookSim printed, and every other figure is None. Otherwise the overall averages of
        :data:`_OVERALL` (floats: cycles, flits per node per cycle, hops).

    Raises
    ------
    BookSimError
        If the text holds neither the final report nor BookSim's unstable verdict.
    """
    if "Simulation unstable" in text:
        # The last sample's accepted rate, with every source queue backlogged: the network's
        # throughput past saturation.
        accepted = re.findall(r"^Accepted flit rate average ?= ?([-+0-9.eE]+)", text,
                              re.MULTILINE)
        if not accepted:
            raise BookSimError("BookSim output says 'Simulation unstable' but reports no "
                               "accepted flit rate")
        return {"stable": False, **dict.fromkeys(_OVERALL),
                "accepted_flits_per_node_cycle": float(accepted[-1])}
    start = text.find("====== Overall Traffic Statistics ======")
    if start < 0:
        raise BookSimError("BookSim output has no 'Overall Traffic Statistics' report and no "
                           "'Simulation unstable' line: the run did not finish")
    report = text[start:]
    result = {"stable": True}
    for name, label in _OVERALL.items():
        match = re.search(rf"^{re.escape(label)} = ([-+0-9.eE]+)", report, re.MULTILINE)
        if match is None:
            raise BookSimError(f"BookSim output's overall report has no '{label}' line")
        result[name] = float(match.group(1))
    return result
