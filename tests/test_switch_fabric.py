"""The switched fabric's configuration (``FabricConfig.switch``), its command line
(``python -m hdl.emit fabric --switch``) and its generated design, without simulation."""

import subprocess
import sys

import pytest

from hdl.emit import _parser, configs_of, generate
from hdl.fabric.topology import router_leaves
from tb.launch import hierarchical_config
from sim_models.config import FabricConfig, config_from_dict, config_to_dict
from sim_models.topology import SwitchTree

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


def test_switch_configuration_names_its_tree():
    config = FabricConfig.switch(4, 36, top_switches=2, flit_intervals=(1, 2))
    assert config.topology == SwitchTree((4, 36), 2, (1, 2))
    assert (config.nodes, config.vcs, config.routing, config.name) == \
        (144, 1, "updown", "switch4x36_t2_i1x2")
    assert config_from_dict(config_to_dict(config)) == config
    assert "top_switches" not in config_to_dict(FabricConfig.torus(2, 2))  # sidecars unchanged


@pytest.mark.parametrize("arguments, message", [
    ("--switch 1 2", "Parameter 'chips' must be an integer in 2..64, not 1"),
    ("--switch 4 65", "Parameter 'servers' must be an integer in 2..64, not 65"),
    ("--switch 2 2 2 2", "Parameter 'radices' must be 1..3 switch levels (chips per server, "
                         "servers, racks), not (2, 2, 2, 2)"),
    ("--switch 64 64", "Parameter 'radices' must multiply to at most 256 chips, not 64 * 64 = "
                       "4096"),
    ("--switch 4 2 --top-switches 5", "Parameter 'top_switches' must be an integer in 1..4, "
                                      "not 5"),
    ("--switch 4 --top-switches 2", "Parameter 'top_switches' must be 1 with one switch level, "
                                    "not 2"),
    ("--torus 2 2 --top-switches 2", "Parameter 'top_switches' needs --switch, not --ring or "
                                     "--torus (given 2)"),
    ("--switch 4 2 --routing dateline", "Parameter 'routing' of a switched fabric must be "
                                        "'updown', not 'dateline'"),
    ("--switch 4 2 --flit-intervals 1", "Parameter 'flit_intervals' must be empty or 2 integers "
                                        "in 1..8, one per dimension, not (1,)"),
])
def test_bad_switch_parameters_are_refused_by_name(arguments, message):
    args = _parser().parse_args(["fabric", *arguments.split()])
    with pytest.raises((TypeError, ValueError)) as error:
        configs_of(args)
    assert str(error.value) == message


def test_command_line_error_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hdl.emit", "fabric", "--switch", "4", "1",
                             "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == "error: Parameter 'servers' must be an integer in 2..64, not 1\n"


def test_one_router_module_per_switch_level_and_deterministic_verilog():
    config = configs_of(_parser().parse_args(["fabric", "--switch", "2", "3",
                                              "--top-switches", "2"]))[0]
    assert [name for _, name in router_leaves(config)] == \
        ["fabric_router_switch2x3_t2_l1", "fabric_router_switch2x3_t2_l2"]
    first, second = generate(config), generate(config)
    assert first.verilog == second.verilog
    for _, name in router_leaves(config):
        assert first.verilog.count(f"module {name}(") == 1
    # Two second-level switches of 3 down ports (each with a plane), 3 server switches of 2
    # chips and 2 up links.
    assert first.verilog.count("fabric_router_switch2x3_t2_l2 switch_") == 2
    assert first.verilog.count("fabric_router_switch2x3_t2_l1 switch_") == 3
    # Verilator builds each level's module once (make fabric-large's Gen1 system).
    assert hierarchical_config(config).splitlines()[1:] == [
        f'hier_block -module "{name}"' for _, name in router_leaves(config)]


@pytest.mark.parametrize("key, name", [("trn2-ultraserver", "torus4x4x4_i1x1x2"),
                                       ("trn3-gen1-ultraserver", "switch16x4_t4_i5x1"),
                                       ("trn3-gen2-ultraserver", "switch4x36_t2_i5x2")])
def test_published_systems_have_their_fabric(key, name):
    assert FabricConfig.system(key).name == name
    args = _parser().parse_args(["fabric", "--system", key])
    assert configs_of(args) == [FabricConfig.system(key)]
    assert FabricConfig.system(key, flit_intervals=()).name == name.split("_i")[0]


@pytest.mark.parametrize("arguments, message", [
    ("--system trn2-ultraserver --torus 4 4 2", "Parameter 'z' of the Trn2 UltraServer must be 4 "
                                                "(4 x 4 chips per instance, 4 instances on Z), "
                                                "not 2"),
    ("--system trn2-ultraserver --torus 4 4", "Parameter 'sides' of the Trn2 UltraServer must be "
                                              "(4, 4, 4) (4 x 4 chips per instance, 4 instances "
                                              "on Z), not (4, 4)"),
    ("--system trn3-gen1-ultraserver --switch 4 16", "Parameter 'chips' of the Trn3 Gen1 "
                                                     "UltraServer must be 16 (16 chips per "
                                                     "server, 4 servers), not 4"),
    ("--system trn3-gen2-ultraserver --switch 4 32", "Parameter 'servers' of the Trn3 Gen2 "
                                                     "UltraServer must be 36 (4 chips per "
                                                     "server, 36 servers), not 32"),
    ("--system trn3-gen2-ultraserver --switch 4 36 2", "Parameter 'radices' of the Trn3 Gen2 "
                                                       "UltraServer must be (4, 36) (4 chips "
                                                       "per server, 36 servers), not "
                                                       "(4, 36, 2)"),
    ("--system trn3-gen2-ultraserver --top-switches 1", "Parameter 'top_switches' of the Trn3 "
                                                        "Gen2 UltraServer must be 2, not 1"),
    ("--system trn3-gen1-ultraserver --top-switches 2", "Parameter 'top_switches' of the Trn3 "
                                                        "Gen1 UltraServer must be 4, not 2"),
    ("--system trn3", "Parameter 'system' must be one of trn2-ultraserver, "
                      "trn3-gen1-ultraserver, trn3-gen2-ultraserver, not 'trn3'"),
    ("", "Parameter 'topology' needs one of --ring, --torus, --switch or --system"),
])
def test_a_size_that_does_not_match_its_system_is_refused(arguments, message):
    args = _parser().parse_args(["fabric", *arguments.split()])
    with pytest.raises((TypeError, ValueError)) as error:
        configs_of(args)
    assert str(error.value) == message
