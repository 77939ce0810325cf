"""The scaling layer's collectives from the RTL fits: which fit each system takes, the mapping
from cycles to seconds, and the provenance the report prints."""

from dataclasses import replace

import pytest

from samples import fabric_document
from sim_models.scaling.assumptions import Assumptions
from sim_models.scaling.network import (FabricCalibration, allreduce_seconds, alltoall_seconds,
                                        collective_figures, collective_provenance)
from sim_models.specs import load_specs

SPECS = load_specs()
ASSUMPTIONS = Assumptions()


@pytest.fixture(scope="module")
def calibration(tmp_path_factory):
    document = fabric_document(tmp_path_factory.mktemp("verilog"))
    return FabricCalibration.from_document(document, "fabric.json")


def test_alpha_and_efficiency_come_from_the_ring_allreduce_fit(calibration):
    ring = calibration.fit("ring", "allreduce")
    # The sample has no BF16 series: the int32 fit stands in.
    assert ring.element == "int32"
    assert calibration.step_cycles == ring.alpha_cycles
    assert calibration.payload_efficiency == min(1.0, ring.link_efficiency)
    assert calibration.fit("switch", "allreduce") is None


def test_torus_allreduce_is_extrapolated_from_the_ring_fit(calibration):
    system = SPECS.system("trn2-ultraserver")
    provenance = collective_provenance(system, "allreduce", 1 << 20, calibration)
    assert provenance.fit.topology == "ring" and provenance.nodes == 4
    assert provenance.node_factor == 1 and provenance.size_factor == (1 << 20) / 256
    assert provenance.describe() == (
        "extrapolated: RTL fit ring allreduce int32 (2-4 nodes, 64-256 B; held-out error up "
        f"to {provenance.fit.held_out_max_error:.1%}); 4,096x the largest message measured, "
        "no allreduce on a torus3d in the RTL, ring taken")


def test_alltoall_maps_cycles_to_seconds_at_the_stated_clock_and_link(calibration):
    system = SPECS.system("trn2-ultraserver")
    fit = calibration.fit("torus3d", "alltoall")
    clock = SPECS.chip(system.chip).core.clock.value
    block = 64 << 10
    expected = 63 * (fit.alpha_cycles / clock + ASSUMPTIONS.dma_step_seconds) + \
        63 * block * fit.beta_cycles_per_byte * fit.flit_bytes / system.link_bandwidth[0].value
    assert alltoall_seconds(SPECS, system, block, calibration, ASSUMPTIONS) == \
        pytest.approx(expected)
    switch = SPECS.system("trn3-gen1-ultraserver")
    text = collective_provenance(switch, "alltoall", block, calibration).describe()
    assert text.startswith("extrapolated: RTL fit torus3d alltoall word32 (8-12 nodes")
    assert "64 nodes, 5.33x the most measured" in text and "no alltoall on a switch in the RTL" in text


def test_a_switch_fit_replaces_the_ring_extrapolation(calibration):
    switch = SPECS.system("trn3-gen1-ultraserver")
    before = allreduce_seconds(SPECS, switch, 1 << 20, calibration, ASSUMPTIONS)
    ring = calibration.fit("ring", "allreduce")
    measured = replace(ring, topology="switch", alpha_cycles=3 * ring.alpha_cycles,
                       nodes_max=64, bytes_max=1 << 20)
    with_switch = replace(calibration, fits=calibration.fits + (measured,))
    provenance = collective_provenance(switch, "allreduce", 1 << 20, with_switch)
    assert provenance.fit is measured and provenance.measured_topology
    assert provenance.describe().startswith("measured range: RTL fit switch allreduce")
    assert allreduce_seconds(SPECS, switch, 1 << 20, with_switch, ASSUMPTIONS) != before


def test_a_direct_switch_fit_comes_before_the_ring(calibration):
    """With both fits of the switch, the direct one is taken, the model's two steps: its alpha
    per step, its efficiency."""
    switch = SPECS.system("trn3-gen1-ultraserver")
    ring = calibration.fit("ring", "allreduce")
    through = replace(ring, topology="switch", nodes_max=8)
    direct = replace(through, algorithm="direct", alpha_cycles=3.0,
                     beta_cycles_per_byte=2 * through.beta_cycles_per_byte)
    with_both = replace(calibration, fits=calibration.fits + (through, direct))
    assert with_both.fit("switch", "allreduce") is direct
    size = 1 << 20
    seconds = allreduce_seconds(SPECS, switch, size, with_both, ASSUMPTIONS)
    clock = ASSUMPTIONS.fabric_clock_hz or SPECS.chip(switch.chip).core.clock.value
    step = 3.0 / clock + ASSUMPTIONS.dma_step_seconds
    port = switch.link_bandwidth[0].value * min(1.0, direct.link_efficiency)
    assert seconds == pytest.approx(2 * step + 2 * 63 / 64 * size / port)
    text = collective_provenance(switch, "allreduce", size, with_both).describe()
    assert "the RTL's direct all-reduce, two steps as the model's, gives alpha per step" in text


def test_without_a_characterization_the_figures_say_analytic():
    figures = collective_figures(SPECS, ["trn2-ultraserver"], FabricCalibration.from_estimate(),
                                 ASSUMPTIONS)
    alltoall = [figure for figure in figures if figure.collective == "alltoall"]
    assert alltoall and all(figure.seconds is None for figure in alltoall)
    assert all(figure.provenance.describe() ==
               "analytic estimate: no RTL fit of this collective" for figure in figures)


def test_the_cut_through_fit_is_measured_not_used(calibration):
    ring = calibration.fit("ring", "allreduce")
    cut = replace(ring, algorithm="ring-cut-through", element="bf16", alpha_cycles=1.0)
    with_cut = replace(calibration, fits=calibration.fits + (cut,))
    assert with_cut.fit("ring", "allreduce") is ring


def test_a_measured_switch_allreduce_says_which_algorithm_it_stands_for(calibration):
    switch = SPECS.system("trn3-gen1-ultraserver")
    ring = calibration.fit("ring", "allreduce")
    measured = replace(ring, topology="switch", nodes_max=8)
    text = collective_provenance(switch, "allreduce", 1 << 20,
                                 replace(calibration, fits=calibration.fits + (measured,))
                                 ).describe()
    assert text.startswith("extrapolated: RTL fit switch allreduce")
    assert "64 nodes, 8x the most measured" in text
    assert "the model's direct reduce-scatter and all-gather take two such steps" in text


def test_a_torus3d_fit_gives_the_trn2_ultraserver_allreduce(calibration):
    """The dimension-wise fit of the 3-D torus, when the characterization has one, replaces the
    ring fit's alpha and efficiency for the Trn2 UltraServer, and the figure says how far it
    extrapolates (64 nodes against the 27 of the largest torus measured)."""
    system = SPECS.system("trn2-ultraserver")
    before = allreduce_seconds(SPECS, system, 1 << 20, calibration, ASSUMPTIONS)
    ring = calibration.fit("ring", "allreduce")
    torus = replace(ring, topology="torus3d", algorithm="dimension-wise", element="bf16",
                    alpha_cycles=12.0, beta_cycles_per_byte=0.25, flit_bytes=4, nodes_min=8,
                    nodes_max=27, bytes_min=32, bytes_max=512)
    with_torus = replace(calibration, fits=calibration.fits + (torus,))
    provenance = collective_provenance(system, "allreduce", 1 << 20, with_torus)
    assert provenance.fit is torus and provenance.nodes == 64
    assert provenance.describe() == (
        "extrapolated: RTL fit torus3d allreduce bf16 (8-27 nodes, 32-512 B; held-out error "
        f"up to {torus.held_out_max_error:.1%}); 64 nodes, 2.37x the most measured, 2,048x "
        "the largest message measured")
    clock = SPECS.chip(system.chip).core.clock.value
    step = 12.0 / clock + ASSUMPTIONS.dma_step_seconds
    # 4 x 4 x 4: 6 steps per dimension; X and Y links at full bandwidth, Z at its own; and
    # the 6 phases' rendezvous, alpha each without a DMA start.
    x, y, z = (bandwidth.value for bandwidth in system.link_bandwidth)
    size = 1 << 20
    expected = 18 * step + 6 * 12.0 / clock + \
        2 * 3 / 4 * (size / x + size / 4 / y + size / 16 / z)
    assert allreduce_seconds(SPECS, system, size, with_torus, ASSUMPTIONS) == \
        pytest.approx(expected)
    assert expected != pytest.approx(before)


def test_a_torus2d_fit_gives_the_trn2_instance_allreduce_with_a_rendezvous_per_phase(
        calibration):
    """A Trn2 instance's 4 x 4 torus takes the 2-D dimension-wise fit when the
    characterization has one: alpha per ring step (with a DMA start) and per phase (without),
    and the figure is within the measured node range (16 nodes, 4 x 4 ran)."""
    system = SPECS.system("trn2-instance")
    ring = calibration.fit("ring", "allreduce")
    torus = replace(ring, topology="torus2d", algorithm="dimension-wise", element="bf16",
                    alpha_cycles=6.0, beta_cycles_per_byte=0.25, flit_bytes=4, nodes_min=4,
                    nodes_max=16, bytes_min=32, bytes_max=512)
    with_torus = replace(calibration, fits=calibration.fits + (torus,))
    provenance = collective_provenance(system, "allreduce", 512, with_torus)
    assert provenance.fit is torus and provenance.describe().startswith(
        "measured range: RTL fit torus2d allreduce bf16 (4-16 nodes")
    clock = SPECS.chip(system.chip).core.clock.value
    step = 6.0 / clock + ASSUMPTIONS.dma_step_seconds
    x, y = (bandwidth.value for bandwidth in system.link_bandwidth)
    size = 1 << 20
    # 4 x 4: 3 + 3 steps per dimension, 4 phases' rendezvous.
    expected = 12 * step + 4 * 6.0 / clock + 2 * 3 / 4 * (size / x + size / 4 / y)
    assert allreduce_seconds(SPECS, system, size, with_torus, ASSUMPTIONS) == \
        pytest.approx(expected)
