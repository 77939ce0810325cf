"""The simulation launcher and its run request, without a simulator."""

import json

import pytest

from hdl.emit import generate, write
from sim_models.config import AllReduceConfig, FabricConfig, TileConfig
from tb.characterize_tile import main as characterize_tile_main
from tb.launch import Design, exit_on_failure, hierarchical_config, simulate
from tb.run_request import RunRequest
from tb.runner import _BUILD_ARGS, ports_config, top_ports


def test_hierarchical_config_names_both_leaf_modules():
    text = hierarchical_config(TileConfig(8, 16))
    assert text.splitlines() == [
        "`verilator_config",
        'hier_block -module "systolic_pe_column_r8c16_int8"',
        'hier_block -module "systolic_psum_column_r8c16_int8"']


def test_case_names_the_configuration_and_the_build():
    assert Design(TileConfig(4, 4), "tb.tile_tb").case == "r4c4_int8"
    hierarchical = Design(TileConfig(4, 4), "tb.tile_gemm_tb", hierarchical=True)
    assert hierarchical.case == "r4c4_int8_hierarchical"
    assert hierarchical.build_args == ["--hierarchical"]
    ring = Design(AllReduceConfig(FabricConfig.ring(3, flit_width=64), 10), "tb.allreduce_tb")
    assert (ring.case, ring.build_args) == ("ring3_w64_v10", [])


def test_design_needs_a_configuration():
    with pytest.raises(TypeError, match=r"^Parameter 'config' must be one of TileConfig, "
                                        r"FabricConfig, AllReduceConfig, "
                                        r"DistributedGemmConfig, AllToAllConfig, not \(4, 4\)$"):
        Design((4, 4), "tb.tile_tb")


def test_hierarchical_builds_are_for_tiles_and_fabrics():
    with pytest.raises(TypeError, match=r"^Parameter 'hierarchical' needs a TileConfig, a "
                                        r"FabricConfig or an AllReduceConfig on a torus, "
                                        r"not AllReduceConfig$"):
        Design(AllReduceConfig(FabricConfig.ring(3), 8), "tb.allreduce_tb", hierarchical=True)
    torus = Design(AllReduceConfig(FabricConfig.torus(2, 2), 8), "tb.allreduce_tb",
                   hierarchical=True)
    assert hierarchical_config(torus.config).splitlines() == [
        "`verilator_config", 'hier_block -module "fabric_router_torus2x2"',
        'hier_block -module "torus_node_torus2x2_v8"']
    fabric = Design(FabricConfig.torus(4, 4, 4), "tb.fabric_tb", hierarchical=True)
    assert fabric.case == "torus4x4x4_hierarchical"
    assert hierarchical_config(fabric.config).splitlines() == [
        "`verilator_config", 'hier_block -module "fabric_router_torus4x4x4"']


def test_unknown_simulator_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match=r"^Parameter 'sim' must be one of 'icarus', "
                                         r"'verilator', not 'foo'$"):
        simulate(Design(TileConfig(1, 1), "tb.tile_tb"), "foo", build=tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("seed", [-1, 1.5, True, "7"])
def test_seed_must_be_a_non_negative_integer(tmp_path, seed):
    with pytest.raises(TypeError, match=rf"^Parameter 'seed' must be a non-negative integer, "
                                        rf"not {seed!r}$"):
        simulate(Design(TileConfig(1, 1), "tb.tile_tb"), "icarus", seed=seed, build=tmp_path)
    assert not any(tmp_path.iterdir())


def test_run_request_round_trip(tmp_path):
    request = RunRequest(tmp_path / "top.ports.json", 7, tmp_path / "out.jsonl",
                         {"shapes": [[4, 8, 16]]}, "SEED=7 make test")
    request.write(tmp_path / "request.json")
    assert RunRequest.read(tmp_path / "request.json") == request
    bare = RunRequest(tmp_path / "top.ports.json", 0)
    bare.write(tmp_path / "bare.json")
    assert RunRequest.read(tmp_path / "bare.json") == bare


@pytest.mark.parametrize("text, problem", [
    ("{", r"cannot be read: Expecting property name enclosed in double quotes: .*"),
    ('{"seed": 1}', r"must have the fields options, rerun, results, seed, sidecar, not "
                    r"\['seed'\]"),
    ('[]', r"must have the fields options, rerun, results, seed, sidecar, not list"),
    ('{"sidecar": "a", "seed": -2, "results": null, "options": {}, "rerun": null}',
     r"'seed' must be a non-negative integer, not -2"),
])
def test_malformed_run_request_is_one_line(tmp_path, text, problem):
    path = tmp_path / "request.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"^Run request {path}:? {problem}$"):
        RunRequest.read(path)


def test_run_request_is_plain_json(tmp_path):
    RunRequest(tmp_path / "top.ports.json", 3, None, {}, None).write(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == {
        "sidecar": str(tmp_path / "top.ports.json"), "seed": 3, "results": None,
        "options": {}, "rerun": None}


def test_characterization_into_an_unwritable_build_directory_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as stop:
        characterize_tile_main(["--sizes", "2", "--sim", "icarus", "--build",
                                str(blocker / "build"), "--out", str(tmp_path / "t.json")])
    assert stop.value.code == (f"error: cannot write the Verilog of systolic_tile_r2c2_int8 to "
                               f"{blocker / 'build' / 'verilog'}: Not a directory")
    assert not (tmp_path / "t.json").exists()


@pytest.mark.parametrize("failure, message", [
    (AssertionError("1 cocotb test(s) of tb.tile_tb failed"),
     "error: 1 cocotb test(s) of tb.tile_tb failed"),
    (PermissionError(13, "Permission denied", "/x/y"),
     "error: cannot write /x/y: Permission denied"),
])
def test_exit_on_failure_says_why_in_one_line(failure, message):
    with pytest.raises(SystemExit) as stop, exit_on_failure():
        raise failure
    assert stop.value.code == message


def test_ctrl_c_in_a_simulating_command_is_one_line(capsys):
    with pytest.raises(SystemExit) as stop, exit_on_failure():
        raise KeyboardInterrupt
    assert stop.value.code == 130
    assert capsys.readouterr().err == ("interrupted: no results file was written; rerun to "
                                       "continue\n")


def test_hierarchical_config_of_a_float_tile_keeps_the_mac_in_its_column():
    """A floating-point tile's FloatMac is compiled inside its PE column's block, not as a
    block per PE (each block's wrapper costs two locks per evaluation)."""
    config = TileConfig(2, 2, formats=("bf16",))
    assert hierarchical_config(config).splitlines()[1:] == [
        'hier_block -module "systolic_pe_column_r2c2_bf16"',
        'hier_block -module "systolic_psum_column_r2c2_bf16"']


def test_hierarchical_config_of_a_tall_float_tile_makes_its_pe_groups_blocks_too():
    """Above 8 rows a floating-point column is built of PE groups (hdl.pe_column.PEGroup), each
    a block inside the column's: Verilator writes a block's code once per instance inside it,
    so a column block of 128 FloatMacs held 128 copies of its code."""
    config = TileConfig(16, 2, formats=("bf16",))
    assert hierarchical_config(config).splitlines()[1:] == [
        'hier_block -module "systolic_pe_group_r16c2_bf16"',
        'hier_block -module "systolic_pe_column_r16c2_bf16"',
        'hier_block -module "systolic_psum_column_r16c2_bf16"']


def test_only_the_top_modules_ports_are_public_to_vpi():
    """Verilator builds drop cocotb's --public-flat-rw and make the top's ports public alone,
    not the top module's other variables, so that Verilator evaluates logic behind registers
    once per clock edge."""
    assert "--no-public-flat-rw" in _BUILD_ARGS["verilator"]
    assert ports_config("systolic_tile_r2c2_bf16", ["clk", "op__valid"]).splitlines() == [
        "`verilator_config", 'public_flat_rw -module "systolic_tile_r2c2_bf16" -var "clk"',
        'public_flat_rw -module "systolic_tile_r2c2_bf16" -var "op__valid"']


def test_top_ports_are_the_ports_of_the_generated_top_module(tmp_path):
    """Every port of the sidecar, and nothing else (the leaf modules in the same file have
    ports of their own)."""
    config = TileConfig(2, 2, formats=("bf16",))
    verilog = write(generate(config), tmp_path)
    sidecar = json.loads(verilog.with_suffix(".ports.json").read_text())
    names = {member["name"] for port in sidecar["ports"].values()
             for member in port["members"].values()} | {sidecar["clock"], sidecar["reset"]["name"]}
    ports = top_ports([verilog], verilog.stem)
    assert sorted(ports) == sorted(names)


def test_a_top_module_missing_from_the_sources_is_named(tmp_path):
    source = tmp_path / "other.v"
    source.write_text("module other(a);\n  input a;\nendmodule\n")
    with pytest.raises(ValueError, match=r"^Parameter 'toplevel': no module 'top' with a port "
                                         r"list in .*other\.v$"):
        top_ports([source], "top")
