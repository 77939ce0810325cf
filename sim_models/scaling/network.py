"""All-reduce over a real system's topology, with the alpha-beta model that the RTL fabric
validated and the latency that the RTL fabric measured.

The RTL ring all-reduce (``hdl.fabric.allreduce``) takes exactly the alpha-beta time plus the
local streaming of the vector, with alpha = one hop's header latency plus the interface's
turnaround and one payload flit per cycle (``tests/test_collectives.py``,
``tb/characterize_fabric.py``). At system scale:

- alpha (seconds per step) = the RTL-measured per-step cycles at the fabric clock, plus one
  DMA start (:class:`~sim_models.scaling.assumptions.Assumptions`);
- the bandwidth of each link comes from the spec data, scaled by the payload efficiency the
  RTL all-reduce achieved;
- a torus is reduced dimension by dimension (:func:`sim_models.collectives.torus_allreduce_time`);
  over a switch every chip exchanges with every other at once (a direct reduce-scatter, then
  a direct all-gather: two steps, each moving (n - 1) / n of the data through the chip's
  port); a cluster reduces inside each unit (UltraServer), then across units over the
  scale-out network (EFA) on the unit's shard, then gathers inside.
"""

from dataclasses import dataclass, replace

from ..allreduce import AllReduceEstimate
from ..collectives import Link, ring_allreduce_time, torus_allreduce_time
from ..results import load
from ..specs import SpecError
from .parallel import unit_of

__all__ = ["FabricCalibration", "allreduce_seconds", "group_allreduce_seconds",
           "point_to_point_seconds"]


@dataclass(frozen=True)
class FabricCalibration:
    """What the RTL fabric measured, as the collective model uses it.

    Members
    -------
    step_cycles : float
        Alpha of the validated model: cycles per all-reduce step (header over one hop plus
        the interface's turnaround).
    payload_efficiency : float
        Fraction of a link's flit bandwidth that carried all-reduce payload, 0..1.
    per_hop_cycles, base_cycles : float
        Zero-load packet latency: ``base + per_hop x hops`` cycles.
    saturation_efficiency : float or None
        Flits per cycle per link at saturation, the worst of the fabrics measured (reported,
        not used by the all-reduce, whose ring traffic has no contention); None when not
        measured.
    source : str
        Where the figures came from (a results file, or "defaults").
    """
    step_cycles: float
    payload_efficiency: float
    per_hop_cycles: float
    base_cycles: float
    saturation_efficiency: float
    source: str

    @classmethod
    def from_estimate(cls):
        """The analytic all-reduce estimate that the RTL regression matches cycle for cycle
        (:class:`sim_models.allreduce.AllReduceEstimate`), for use without a characterization
        run."""
        estimate = AllReduceEstimate(nodes=2, length=2)
        return cls(step_cycles=estimate.latency.header(1) + estimate.turnaround,
                   payload_efficiency=1.0, per_hop_cycles=estimate.latency.per_hop,
                   base_cycles=estimate.latency.fixed, saturation_efficiency=None,
                   source="analytic estimate (sim_models.allreduce), validated by the "
                          "all-reduce regression")

    @classmethod
    def from_document(cls, figures, source):
        """The calibration of a :class:`~sim_models.results.FabricCharacterization`, read from
        the file ``source`` (named in the report)."""
        largest = max(figures.allreduce, key=lambda run: (run.nodes, run.length))
        network_cycles = largest.rtl_cycles - largest.local_cycles
        steps = 2 * (largest.nodes - 1)
        alpha = figures.alpha_beta.alpha_cycles
        bandwidth_cycles = network_cycles - steps * alpha
        ideal = largest.alpha_beta_cycles - steps * alpha
        return cls(step_cycles=alpha, payload_efficiency=min(1.0, ideal / bandwidth_cycles),
                   per_hop_cycles=figures.hop_latency.per_hop_cycles,
                   base_cycles=figures.hop_latency.base_cycles,
                   saturation_efficiency=min(run.flits_per_cycle_per_link
                                             for run in figures.link_efficiency),
                   source=str(source))

    @classmethod
    def from_results(cls, path):
        """Read ``fabric.json`` as ``python -m tb.characterize_fabric`` writes it.

        Raises
        ------
        sim_models.results.ResultsError
            If the file does not load (one line naming it and what is wrong).
        """
        return cls.from_document(load(path, "fabric"), path)


def _step_seconds(calibration, clock_hz, assumptions, hops=1):
    hop = calibration.step_cycles + (hops - 1) * calibration.per_hop_cycles
    return hop / clock_hz + assumptions.dma_step_seconds


def _link(seconds, bandwidth, calibration):
    return Link(hop_latency=seconds, bandwidth=bandwidth.value,
                efficiency=calibration.payload_efficiency)


def allreduce_seconds(specs, system, size_bytes, calibration, assumptions):
    """Seconds to all-reduce ``size_bytes`` bytes held by every chip of ``system``.

    Parameters
    ----------
    specs : Specs
    system : SystemSpec
        Torus, switch or ring system of NeuronCore chips, or a cluster of such systems
        (``system.unit``).
    size_bytes : float
        Bytes each chip contributes (and holds summed at the end).
    calibration : FabricCalibration
    assumptions : Assumptions

    Returns
    -------
    float
        Seconds; 0 for a single chip.
    """
    clock = assumptions.fabric_clock_hz or specs.chip(system.chip).core.clock.value
    if system.level == "cluster":
        unit = specs.system(system.unit)
        units = max(1, round(system.chips.value / unit.chips.value))
        inside = allreduce_seconds(specs, unit, size_bytes, calibration, assumptions)
        if units == 1:
            return inside
        if system.scale_out_bandwidth is None or system.scale_out_latency is None:
            raise SpecError(f"{system.file}: system '{system.key}' needs scale_out_bandwidth "
                            f"and scale_out_latency to join its units")
        across = Link(hop_latency=system.scale_out_latency.value,
                      bandwidth=system.scale_out_bandwidth.value)
        return inside + ring_allreduce_time(units, size_bytes / unit.chips.value, across)
    chips = int(system.chips.value)
    if chips == 1:
        return 0.0
    kind = system.topology.kind
    if kind == "torus":
        step = _step_seconds(calibration, clock, assumptions)
        links = [_link(step, bandwidth, calibration) for bandwidth in system.link_bandwidth]
        return torus_allreduce_time(list(system.topology.dims), size_bytes, links)
    if kind == "switch":
        step = _step_seconds(calibration, clock, assumptions, hops=assumptions.switch_hops)
        port = _link(step, system.link_bandwidth[0], calibration)
        return 2 * step + 2 * (chips - 1) / chips * size_bytes / port.effective_bandwidth
    step = _step_seconds(calibration, clock, assumptions)
    return ring_allreduce_time(chips, size_bytes,
                               _link(step, system.link_bandwidth[0], calibration))


def _inside(specs, unit, members, size_bytes, calibration, assumptions):
    """All-reduce over ``members`` adjacent chips of ``unit``: the unit's whole fabric, the
    torus dimensions the group fills, or a ring on the first link."""
    if members == 1:
        return 0.0
    if members == unit.chips.value:
        return allreduce_seconds(specs, unit, size_bytes, calibration, assumptions)
    topology = unit.topology
    if topology.kind == "torus":
        dims, filled = [], 1
        for size in topology.dims:
            if filled * size > members:
                break
            dims.append(size)
            filled *= size
        if filled == members:
            clock = assumptions.fabric_clock_hz or specs.chip(unit.chip).core.clock.value
            step = _step_seconds(calibration, clock, assumptions)
            links = [_link(step, bandwidth, calibration)
                     for bandwidth in unit.link_bandwidth[:len(dims)]]
            return torus_allreduce_time(dims, size_bytes, links)
    group = replace(unit, chips=replace(unit.chips, value=members, given=members),
                    topology=replace(topology, kind="switch" if topology.kind == "switch"
                                     else "ring", dims=()))
    return allreduce_seconds(specs, group, size_bytes, calibration, assumptions)


def group_allreduce_seconds(specs, system, members, stride, size_bytes, calibration,
                            assumptions):
    """Seconds to all-reduce ``size_bytes`` bytes held by each of ``members`` chips placed
    ``stride`` chips apart in ``system`` (1: adjacent), software cost included; 0 for one chip.

    Members within one unit (instance or UltraServer) reduce over its fabric; a group that
    spans units reduces inside each unit, then across units over the scale-out network on the
    unit's shard (as :func:`allreduce_seconds` does for a cluster).
    """
    if members == 1:
        return 0.0
    unit = unit_of(specs, system)
    unit_chips = int(unit.chips.value)
    software = assumptions.collective_seconds
    if members * stride <= unit_chips:
        return software + _inside(specs, unit, members, size_bytes, calibration, assumptions)
    inside_members = min(members, max(1, unit_chips // stride))
    units = -(-members // inside_members)
    inside = _inside(specs, unit, inside_members, size_bytes, calibration, assumptions)
    if units == 1:
        return software + inside
    across = Link(hop_latency=system.scale_out_latency.value,
                  bandwidth=system.scale_out_bandwidth.value)
    return software + inside + ring_allreduce_time(units, size_bytes / inside_members, across)


def point_to_point_seconds(specs, system, size_bytes, across_units, calibration, assumptions):
    """Seconds to send ``size_bytes`` from each chip of one group to its peer in the next, over
    one NeuronLink (or the scale-out network when ``across_units``), software cost included."""
    if across_units:
        return (assumptions.collective_seconds + system.scale_out_latency.value
                + size_bytes / system.scale_out_bandwidth.value)
    unit = unit_of(specs, system)
    clock = assumptions.fabric_clock_hz or specs.chip(unit.chip).core.clock.value
    link = _link(_step_seconds(calibration, clock, assumptions), unit.link_bandwidth[0],
                 calibration)
    return assumptions.collective_seconds + link.hop_latency + size_bytes / \
        link.effective_bandwidth
