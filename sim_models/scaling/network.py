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
- with a characterization, alpha and the efficiency are those of the measured alpha-beta fit
  (:class:`sim_models.results.CollectiveFit`) of the system's topology and collective, in
  :data:`COLLECTIVE_ELEMENT`, when the RTL has one, else of the ring's (a 3-D torus takes the
  fit of the RTL's all-reduce dimension by dimension on 3-D tori with half-rate Z links,
  ``torus3d`` ``dimension-wise``, a 2-D torus that on 2-D tori, ``torus2d``: alpha once per
  ring step and once per phase, the rendezvous before each dimension's reduce-scatter and
  all-gather, without a DMA start; the switch's
  all-reduce takes the fit of the RTL's direct all-reduce on switched fabrics, the model's
  algorithm, else that of its ring through the switches, whose endpoints reduce, else the
  ring's, and says which). The mapping from
  cycles to seconds: a fit's alpha cycles at the fabric clock; one flit per cycle of the RTL
  link is the spec's bandwidth of the corresponding link (a torus dimension's link, a chip's
  port into the switch), so beta in seconds per byte is ``beta_cycles_per_byte * flit_bytes /
  link_bandwidth`` (:func:`collective_provenance` says how far each figure extrapolates);
- a torus is reduced dimension by dimension (:func:`sim_models.collectives.torus_allreduce_time`);
  over a switch every chip exchanges with every other at once (a direct reduce-scatter, then
  a direct all-gather: two steps, each moving (n - 1) / n of the data through the chip's
  port); a cluster reduces inside each unit (UltraServer), then across units over the
  scale-out network (EFA) on the unit's shard, then gathers inside.
"""

from dataclasses import dataclass, field, replace

from ..allreduce import AllReduceEstimate
from ..collectives import Link, ring_allreduce_time, torus_allreduce_time
from ..results import load
from ..specs import SpecError
from .parallel import unit_of

__all__ = ["COLLECTIVE_ELEMENT", "REPORT_COLLECTIVES", "SCALING_ALGORITHMS", "CollectiveFigure", "FabricCalibration",
           "Provenance", "allreduce_seconds", "alltoall_seconds", "collective_figures",
           "collective_provenance", "fit_topology", "group_allreduce_seconds",
           "group_alltoall_seconds", "alltoall_group", "point_to_point_seconds"]

#: Element format of the all-reduces the scaling layer models (gradients and activations in
#: BF16); its RTL fit is used, else int32's.
COLLECTIVE_ELEMENT = "bf16"
#: The RTL algorithms whose fits the scaling layer takes, the first measured of a topology and
#: collective first: a torus's all-reduce dimension by dimension, a switch's direct (the
#: model's reduce-scatter and all-gather straight between chips), else the ring's.
SCALING_ALGORITHMS = ("dimension-wise", "direct", "ring")


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
    fits : tuple of CollectiveFit
        The measured alpha-beta fits per topology and collective (empty without a
        characterization).
    """
    step_cycles: float
    payload_efficiency: float
    per_hop_cycles: float
    base_cycles: float
    saturation_efficiency: float
    source: str
    fits: tuple = field(default=())

    def fit(self, topology, collective):
        """The measured :class:`~sim_models.results.CollectiveFit` of ``collective`` on
        ``topology`` (``ring``, ``torus2d``, ``torus3d``, ``switch``) by the first algorithm of
        :data:`SCALING_ALGORITHMS` measured: in :data:`COLLECTIVE_ELEMENT` for an all-reduce,
        else the first element measured (int32 for an all-reduce); None when the RTL has none. The
        cut-through all-reduce is measured beside it and not used: the model's steps each
        start with a DMA of their own (``Assumptions.dma_step_seconds``), a store-and-forward
        schedule."""
        found = sorted((fit for fit in self.fits if (fit.topology, fit.collective) ==
                        (topology, collective) and fit.algorithm in SCALING_ALGORITHMS),
                       key=lambda fit: SCALING_ALGORITHMS.index(fit.algorithm))
        return next((fit for fit in found if fit.element == COLLECTIVE_ELEMENT),
                    next((fit for fit in found if fit.element == "int32"),
                         found[0] if found else None))

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
        calibration = cls(step_cycles=0.0, payload_efficiency=1.0,
                          per_hop_cycles=figures.hop_latency.per_hop_cycles,
                          base_cycles=figures.hop_latency.base_cycles,
                          saturation_efficiency=min(run.flits_per_cycle_per_link
                                                    for run in figures.link_efficiency),
                          source=str(source), fits=figures.fits)
        ring = calibration.fit("ring", "allreduce")
        if ring is None:
            raise SpecError(f"{source}: holds no ring all-reduce fit; make "
                            f"characterize-fabric rebuilds it")
        return replace(calibration, step_cycles=ring.alpha_cycles,
                       payload_efficiency=min(1.0, ring.link_efficiency))

    @classmethod
    def from_results(cls, path):
        """Read ``fabric.json`` as ``python -m tb.characterize_fabric`` writes it.

        Raises
        ------
        sim_models.results.ResultsError
            If the file does not load (one line naming it and what is wrong).
        """
        return cls.from_document(load(path, "fabric"), path)


def fit_topology(system):
    """The topology name of the RTL fits (``ring``, ``torus2d``, ``torus3d``, ``switch``) that
    ``system``'s fabric is."""
    kind = system.topology.kind
    if kind == "torus":
        return f"torus{len(system.topology.dims)}d"
    return kind if kind == "switch" else "ring"


def _measured(calibration, topology, collective="allreduce"):
    """``calibration`` with alpha and efficiency from the fit of ``collective`` on
    ``topology`` when the RTL has one; unchanged (the ring all-reduce's) otherwise."""
    fit = calibration.fit(topology, collective)
    if fit is None:
        return calibration
    return replace(calibration, step_cycles=fit.alpha_cycles,
                   payload_efficiency=min(1.0, fit.link_efficiency))


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
        # The RTL's dimension-wise all-reduce of a 2-D or 3-D torus when measured (alpha per
        # step and per phase's rendezvous, beta as the links' efficiency); else each ring of
        # the torus with the ring's fit, which has no rendezvous.
        dims = list(system.topology.dims)
        measured = calibration.fit(fit_topology(system), "allreduce") is not None
        calibration = _measured(calibration, fit_topology(system))
        step = _step_seconds(calibration, clock, assumptions)
        links = [_link(step, bandwidth, calibration) for bandwidth in system.link_bandwidth]
        phases = 2 * sum(side > 1 for side in dims) if measured else 0
        return torus_allreduce_time(dims, size_bytes, links) + \
            phases * calibration.step_cycles / clock
    if kind == "switch":
        measured = calibration.fit("switch", "allreduce") is not None
        calibration = _measured(calibration, "switch")
        step = _step_seconds(calibration, clock, assumptions,
                             hops=1 if measured else assumptions.switch_hops)
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


def _fabric_clock(specs, system, assumptions):
    return assumptions.fabric_clock_hz or specs.chip(system.chip).core.clock.value


def alltoall_seconds(specs, system, block_bytes, calibration, assumptions):
    """Seconds of one all-to-all in which every chip of ``system`` (an instance or UltraServer)
    sends ``block_bytes`` bytes to every other chip, software cost excluded.

    The measured all-to-all fit of the system's topology (``torus3d`` for a Trn2 UltraServer,
    ``switch`` for Trainium3's; without a fit of the topology, the 3-D torus's) gives ``alpha * (n - 1) + beta * (n - 1) * block_bytes``: one chip injects its
    blocks one after another through one port, alpha at the fabric clock plus one DMA start
    per block, beta at the first link's spec bandwidth. Without a measured fit: None.
    """
    chips = int(system.chips.value)
    if chips == 1:
        return 0.0
    fit = calibration.fit(fit_topology(system), "alltoall") or \
        calibration.fit("torus3d", "alltoall")
    if fit is None:
        return None
    clock = _fabric_clock(specs, system, assumptions)
    link = system.link_bandwidth[0].value
    alpha = fit.alpha_cycles / clock + assumptions.dma_step_seconds
    beta = fit.beta_cycles_per_byte * fit.flit_bytes / link
    return alpha * (chips - 1) + beta * (chips - 1) * block_bytes


def alltoall_group(specs, system, members, stride):
    """The system an all-to-all among ``members`` chips placed ``stride`` apart runs on inside
    one unit: the unit's topology with the members that fit in it (the fits and the provenance
    see that many nodes)."""
    unit = unit_of(specs, system)
    inside = min(members, max(1, int(unit.chips.value) // stride))
    return replace(unit, chips=replace(unit.chips, value=inside, given=inside))


def group_alltoall_seconds(specs, system, members, stride, block_bytes, calibration,
                           assumptions):
    """Seconds of one all-to-all among ``members`` chips placed ``stride`` chips apart, each
    sending ``block_bytes`` to every other member, software cost included; 0 for one chip.

    Inside a unit: :func:`alltoall_seconds` (the measured fit of the unit's topology) on the
    members the unit holds; without a fit (no characterization), the analytic estimate: one
    step (:func:`_step_seconds`) and one block at the link's payload rate per other member.
    Members in other units add the scale-out latency and their blocks over the chip's
    scale-out bandwidth.
    """
    if members == 1:
        return 0.0
    group = alltoall_group(specs, system, members, stride)
    inside = int(group.chips.value)
    seconds = alltoall_seconds(specs, group, block_bytes, calibration, assumptions)
    if seconds is None:
        step = _step_seconds(calibration, _fabric_clock(specs, group, assumptions), assumptions)
        link = _link(step, group.link_bandwidth[0], calibration)
        seconds = (inside - 1) * (step + block_bytes / link.effective_bandwidth)
    seconds += assumptions.collective_seconds
    if members > inside:
        seconds += system.scale_out_latency.value + \
            (members - inside) * block_bytes / system.scale_out_bandwidth.value
    return seconds


def _times(factor):
    """A factor above 1 in words: ``5.33x``, ``4,096x``."""
    return f"{factor:,.0f}x" if factor >= 100 else f"{factor:.3g}x"


@dataclass(frozen=True)
class Provenance:
    """Where a collective figure of a system comes from, and how far it extrapolates.

    Members
    -------
    collective : str
        ``allreduce`` or ``alltoall``.
    fit : CollectiveFit or None
        The RTL fit used; None when the figure is the analytic estimate alone.
    topology : str
        The system's topology name (``torus3d``, ``switch``, ...).
    nodes : int
        Nodes of the collective as the fit sees them: a torus dimension's ring for an
        all-reduce, the whole system for an all-to-all or a switch.
    size_bytes : float
        The fit's message size at the figure (per node for an all-reduce, per block for an
        all-to-all).
    """
    collective: str
    fit: object
    topology: str
    nodes: int
    size_bytes: float

    @property
    def measured_topology(self):
        """The fit's topology is the system's."""
        return self.fit is not None and self.fit.topology == self.topology

    @property
    def node_factor(self):
        """Nodes over the most measured (1 or less: within the measured range)."""
        return self.nodes / self.fit.nodes_max if self.fit else None

    @property
    def size_factor(self):
        """Message size over the largest measured."""
        return self.size_bytes / self.fit.bytes_max if self.fit else None

    def describe(self):
        """One line: measured or extrapolated, from what, and how far."""
        if self.fit is None:
            return "analytic estimate: no RTL fit of this collective"
        fit = self.fit
        source = (f"RTL fit {fit.topology} {fit.collective} {fit.element} "
                  f"({fit.nodes_min}-{fit.nodes_max} nodes, {fit.bytes_min}-{fit.bytes_max} B; "
                  f"held-out error up to {fit.held_out_max_error:.1%})")
        within = self.node_factor <= 1 and self.size_factor <= 1
        how = "measured range" if within and self.measured_topology else "extrapolated"
        reach = []
        if self.node_factor > 1:
            reach.append(f"{self.nodes} nodes, {_times(self.node_factor)} the most measured")
        if self.size_factor > 1:
            reach.append(f"{_times(self.size_factor)} the largest message measured")
        if not self.measured_topology:
            reach.append(f"no {self.collective} on a {self.topology} in the RTL, "
                         f"{fit.topology} taken")
        elif self.topology == "switch" and self.collective == "allreduce":
            reach.append("the RTL's direct all-reduce, two steps as the model's, gives alpha "
                         "per step and beta" if fit.algorithm == "direct" else
                         "the RTL's ring through the switches gives alpha per step and beta; "
                         "the model's direct reduce-scatter and all-gather take two such steps")
        return f"{how}: {source}" + (f"; {', '.join(reach)}" if reach else "")


def collective_provenance(system, collective, size_bytes, calibration):
    """The :class:`Provenance` of ``collective`` (``allreduce`` or ``alltoall``) of
    ``size_bytes`` on ``system`` (an instance or UltraServer), as :func:`allreduce_seconds`
    and :func:`alltoall_seconds` compute it."""
    topology = fit_topology(system)
    chips = int(system.chips.value)
    if collective == "alltoall":
        fit = calibration.fit(topology, "alltoall") or calibration.fit("torus3d", "alltoall")
        return Provenance(collective, fit, topology, chips, size_bytes)
    fit = calibration.fit(topology, "allreduce")  # torus3d: the dimension-wise fit
    if fit is not None or topology == "switch":
        return Provenance(collective, fit or calibration.fit("ring", "allreduce"), topology,
                          chips, size_bytes)
    # A torus or ring is all-reduced ring by ring: the largest ring is the first dimension's,
    # carrying the whole vector.
    dims = system.topology.dims or (chips,)
    return Provenance(collective, calibration.fit("ring", "allreduce"), topology, max(dims),
                      size_bytes)


@dataclass(frozen=True)
class CollectiveFigure:
    """One collective of one system as the report shows it.

    Members
    -------
    system : SystemSpec
    collective : str
        ``allreduce`` or ``alltoall``.
    size_bytes : float
        Bytes per chip (all-reduce) or per block (all-to-all).
    seconds : float or None
        Transfer time, software cost excluded; None when no fit gives it.
    provenance : Provenance
    """
    system: object
    collective: str
    size_bytes: float
    seconds: object
    provenance: Provenance


#: The report's collective figures: (collective, message sizes in bytes).
REPORT_COLLECTIVES = (("allreduce", (1 << 20, 256 << 20)), ("alltoall", (64 << 10,)))


def collective_figures(specs, system_keys, calibration, assumptions):
    """The :class:`CollectiveFigure` of every collective and size of
    :data:`REPORT_COLLECTIVES` on each system of ``system_keys``."""
    figures = []
    for key in system_keys:
        system = specs.system(key)
        for collective, sizes in REPORT_COLLECTIVES:
            for size in sizes:
                seconds = (allreduce_seconds if collective == "allreduce" else
                           alltoall_seconds)(specs, system, size, calibration, assumptions)
                figures.append(CollectiveFigure(system, collective, size, seconds,
                                                collective_provenance(system, collective, size,
                                                                      calibration)))
    return tuple(figures)
