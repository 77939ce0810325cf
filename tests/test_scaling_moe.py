"""Mixture-of-experts workloads and expert parallelism in the scaling layer."""

from dataclasses import replace

import pytest

from sim_models.results.schema import CollectiveFit
from sim_models.scaling.assumptions import Assumptions
from sim_models.scaling.decode import best_decode_plan, decode_step
from sim_models.scaling.network import FabricCalibration, group_alltoall_seconds
from sim_models.scaling.parallel import TrainingPlan, logical_cores_per_chip
from sim_models.scaling.prefill import prefill_step
from sim_models.scaling.training import (expert_alltoall_seconds, expert_alltoall_source,
                                         expert_blocks, gemm_seconds, loads_all_experts,
                                         prefill_expert_mode, routed_load, stage_gemms,
                                         training_layouts, training_step)
from sim_models.scaling.workloads import load_workloads
from sim_models.specs import SpecError, load_specs

SPECS, WORKLOADS = load_specs(), load_workloads()
CALIBRATION, ASSUMPTIONS = FabricCalibration.from_estimate(), Assumptions()
TRN2 = SPECS.system("trn2-instance")
GEN2 = SPECS.system("trn3-gen2-ultraserver")


@pytest.mark.parametrize("key, total, active", [
    # The model cards' totals, the embedding table left out (the model counts GEMM weights;
    # gpt-oss's card counts no embedding among the active parameters).
    ("qwen3-235b-a22b", 235e9 - 151936 * 4096, 22e9 - 151936 * 4096),
    ("gpt-oss-120b", 116.83e9 - 201088 * 2880, 5.13e9),
    ("deepseek-v3", 671e9 - 129280 * 7168, 37e9 - 129280 * 7168),
])
def test_architectures_give_the_published_parameter_counts(key, total, active):
    workload = WORKLOADS[key]
    assert workload.parameters == pytest.approx(total, rel=0.02)
    assert workload.active_parameters == pytest.approx(active, rel=0.04)


def test_latent_attention_caches_the_latent_only():
    deepseek = WORKLOADS["deepseek-v3"]
    assert deepseek.kv_bytes_per_token == 61 * (512 + 64) * 2
    # Grouped-query attention: K and V of every KV head.
    assert WORKLOADS["qwen3-235b-a22b"].kv_bytes_per_token == 94 * 2 * 4 * 128 * 2


def test_routed_load_counts_the_experts_the_tokens_reach():
    qwen = WORKLOADS["qwen3-235b-a22b"]
    reached, mean, busiest = routed_load(qwen, 1, 1, 1.25)
    assert (reached, mean, busiest) == pytest.approx((8, 1, 1))
    reached, mean, busiest = routed_load(qwen, 65536, 4, 1.25)
    assert reached == pytest.approx(32)
    assert mean == pytest.approx(4 * 65536 * 8 / 128)
    assert busiest == pytest.approx(1.25 * mean)


def test_small_batch_decode_reads_only_the_experts_it_reaches():
    gpt = WORKLOADS["gpt-oss-120b"]
    one = decode_step(SPECS, TRN2, gpt, 1, CALIBRATION, ASSUMPTIONS, tp=16, context=576)
    many = decode_step(SPECS, TRN2, gpt, 64, CALIBRATION, ASSUMPTIONS, tp=16, context=576)
    assert one.weights_read < 0.2 * one.memory.weights
    assert many.weights_read > 0.8 * many.memory.weights
    assert many.gemm_seconds > 3 * one.gemm_seconds
    # Every token through twice the experts: more weights read, longer GEMMs.
    wider = replace(gpt, experts_per_token=8)
    assert decode_step(SPECS, TRN2, wider, 1, CALIBRATION, ASSUMPTIONS, tp=16,
                       context=576).gemm_seconds > one.gemm_seconds


@pytest.mark.parametrize("key, tokens, ep, block", [
    ("gpt-oss-120b", 512, 1, 512), ("gpt-oss-120b", 3, 1, 512),
    ("qwen3-235b-a22b", 65536, 4, 512), ("qwen3-235b-a22b", 1000, 1, 64),
    ("deepseek-v3", 10000, 8, 128)])
def test_expert_blocks_hold_every_routing(key, tokens, ep, block):
    workload = WORKLOADS[key]
    local, rows = workload.experts // ep, tokens * workload.experts_per_token
    blocks = expert_blocks(workload, tokens, ep, block)
    # Enough rows for the routed tokens however they fall: every expert holding tokens but
    # one can leave a block partly empty, and no routed row needs more than its own block.
    assert blocks * block >= min(rows * block, rows + (min(local, rows) - 1) * (block - 1))
    assert blocks <= rows
    if rows >= local * block:
        assert blocks <= rows / block + local


def test_prefill_runs_the_experts_blockwise_and_decode_selectively():
    gpt = WORKLOADS["gpt-oss-120b"]
    routed = replace(ASSUMPTIONS, prefill_expert_block_tokens=None)
    short = [prefill_step(SPECS, TRN2, gpt, 512, 1, CALIBRATION, assumptions, tp=16)
             for assumptions in (ASSUMPTIONS, routed)]
    # A 512-token prompt fills 2,048 routed rows but computes a block of 512 for about every
    # one of the 128 experts.
    assert short[0].compute_seconds > 2 * short[1].compute_seconds
    # Larger blocks pad more.
    wide = replace(ASSUMPTIONS, prefill_expert_block_tokens=1024)
    assert prefill_step(SPECS, TRN2, gpt, 512, 1, CALIBRATION, wide,
                        tp=16).compute_seconds > short[0].compute_seconds
    # Decode is not blockwise.
    steps = [decode_step(SPECS, TRN2, gpt, 1, CALIBRATION, assumptions, tp=16, context=576)
             for assumptions in (ASSUMPTIONS, routed)]
    assert steps[0].seconds == steps[1].seconds


def test_expert_parallelism_adds_two_alltoalls_per_moe_layer():
    qwen = WORKLOADS["qwen3-235b-a22b"]
    plain = decode_step(SPECS, GEN2, qwen, 8, CALIBRATION, ASSUMPTIONS, tp=16)
    assert plain.alltoall_seconds == 0.0
    step = decode_step(SPECS, GEN2, qwen, 8, CALIBRATION, ASSUMPTIONS, tp=16, ep=4)
    one = expert_alltoall_seconds(SPECS, GEN2, qwen, 16, 4, 8, CALIBRATION, ASSUMPTIONS)
    assert step.alltoall_seconds == pytest.approx(2 * 94 * one) and one > 0
    # Each replica holds a quarter of the experts.
    assert step.memory.weights < 0.3 * plain.memory.weights
    prefill = prefill_step(SPECS, GEN2, qwen, 1024, 1, CALIBRATION, ASSUMPTIONS, tp=16, ep=4)
    assert prefill.communication_seconds > prefill_step(
        SPECS, GEN2, qwen, 1024, 1, CALIBRATION, ASSUMPTIONS, tp=16).communication_seconds


def test_imbalance_slows_the_busiest_expert_and_its_receiver():
    qwen = WORKLOADS["qwen3-235b-a22b"]
    balanced = replace(ASSUMPTIONS, expert_imbalance=1.0)
    skewed = replace(ASSUMPTIONS, expert_imbalance=3.0)
    steps = [decode_step(SPECS, GEN2, qwen, 256, CALIBRATION, assumptions, tp=16, ep=4,
                         context=1024) for assumptions in (balanced, skewed)]
    # 1,024 tokens over 4 groups route 8,192 rows to 128 experts: decode runs every expert
    # over every token, so the routing does not change its GEMMs; the busiest receiver of
    # the all-to-all still waits.
    assert steps[1].gemm_seconds == steps[0].gemm_seconds
    assert steps[1].alltoall_seconds > steps[0].alltoall_seconds
    # A routed pass (training's) waits for its busiest expert.
    chip = SPECS.chip(GEN2.chip)
    routed = [gemm_seconds(chip, stage_gemms(qwen, 16, logical_cores_per_chip(chip), 8192, 2,
                                             qwen.layers, 4, imbalance)[0], "bf16",
                           ASSUMPTIONS) for imbalance in (1.0, 3.0)]
    assert routed[1] > routed[0]


def _alltoall_fit(topology):
    return CollectiveFit(topology, "alltoall", "direct", "word32", 5.0, 1.0, 4, 4, 12, 12, 60,
                         2, 4, 0.0, 0.05)


def test_alltoall_takes_the_measured_fit_and_says_how_far_it_reaches():
    measured = replace(CALIBRATION, fits=(_alltoall_fit("switch"),))
    block = 64 << 10
    fitted = group_alltoall_seconds(SPECS, GEN2, 16, 1, block, measured, ASSUMPTIONS)
    analytic = group_alltoall_seconds(SPECS, GEN2, 16, 1, block, CALIBRATION, ASSUMPTIONS)
    link = GEN2.link_bandwidth[0].value
    # beta: 1 cycle per byte of a 4-byte flit = a quarter of the link, 15 blocks.
    transfer = 15 * block * 4 / link
    assert fitted - ASSUMPTIONS.collective_seconds == pytest.approx(
        transfer + 15 * (5.0 / SPECS.chip("trn3").core.clock.value
                         + ASSUMPTIONS.dma_step_seconds))
    assert analytic < fitted
    source = expert_alltoall_source(SPECS, GEN2, WORKLOADS["qwen3-235b-a22b"], 16, 4, 8,
                                    measured, ASSUMPTIONS)
    assert source.startswith("4 chips, ") and "extrapolated: RTL fit switch alltoall" in source
    assert "the largest message measured" in source


def test_training_search_tries_expert_parallelism_for_moe_only():
    dense = training_layouts(SPECS, TRN2, WORKLOADS["llama3-70b"], ASSUMPTIONS)
    assert {plan.ep for plan in dense} == {1}
    moe = training_layouts(SPECS, TRN2, WORKLOADS["gpt-oss-120b"], ASSUMPTIONS)
    assert {1, 2, 64} <= {plan.ep for plan in moe}
    assert all(plan.dp % plan.ep == 0 for plan in moe)


def test_moe_training_step_times_the_alltoalls_and_counts_active_flops():
    gpt = WORKLOADS["gpt-oss-120b"]
    plan = TrainingPlan(2, 1, 32, 1, 32, 4096, "bf16", 1, True, 32)
    step = training_step(SPECS, TRN2, gpt, CALIBRATION, ASSUMPTIONS, plan)
    assert step.fits and step.ep_seconds > 0
    assert step.model_flops == pytest.approx(plan.tokens * (
        6 * gpt.active_parameters + 6 * 36 * 64 * 64 * 4096))
    # Without EP every replica holds every expert: the layout no longer fits.
    plain = training_step(SPECS, TRN2, gpt, CALIBRATION, ASSUMPTIONS, replace(plan, ep=1))
    assert not plain.fits and plain.memory.weights > 10 * step.memory.weights


def test_decode_search_reports_the_used_and_the_best_layout():
    search = best_decode_plan(SPECS, GEN2, WORKLOADS["qwen3-235b-a22b"], 64, CALIBRATION,
                              ASSUMPTIONS)
    assert search.step.plan.tp == 64 and search.fitting <= search.tried
    assert search.best.seconds <= search.step.seconds


@pytest.mark.parametrize("ep, message", [
    (3, r"^--decode-ep 3: must divide the 128 routed experts of GPT-OSS-120B$"),
    (8, r"^--decode-ep 8: must divide the TP 16 groups of the system \(4 replicas\)$"),
])
def test_bad_expert_parallelism_is_one_line(ep, message):
    with pytest.raises(SpecError, match=message):
        decode_step(SPECS, TRN2, WORKLOADS["gpt-oss-120b"], 1, CALIBRATION, ASSUMPTIONS,
                    tp=16, ep=ep)


@pytest.mark.parametrize("edit, message", [
    ({"experts_per_token": 2}, r"field 'x.experts_per_token' needs 'experts'"),
    ({"experts": 8}, r"field 'x.experts_per_token' must be a positive integer when 'experts' "
                     r"is given"),
    ({"experts": 8, "experts_per_token": 9, "expert_ffn": 64},
     r"field 'x.experts_per_token' must be at most 'experts' \(8\), not 9"),
    ({"kv_lora_rank": 64}, r"field 'x.kv_lora_rank' latent attention needs 'q_lora_rank'"),
])
def test_inconsistent_moe_workloads_are_refused(edit, message, tmp_path):
    fields = {"name": "X", "layers": 2, "hidden": 64, "ffn": 128, "heads": 4, "kv_heads": 2,
              "vocab": 100, "sequence": 16, "sequences_per_chip": 1, "decode_context": 16}
    path = tmp_path / "w.toml"
    path.write_text("[x]\n" + "".join(f"{key} = {value!r}\n".replace("'", '"')
                                      for key, value in (fields | edit).items()))
    with pytest.raises(SpecError, match=message):
        load_workloads(path)


def test_decode_runs_every_expert_over_every_token_from_one_routed_row_per_expert():
    gpt = WORKLOADS["gpt-oss-120b"]
    # 128 experts, 4 per token: 31 tokens fill 124 routed rows (selective loading), 32 fill
    # 128 (NxD Inference's all-experts pass).
    assert not loads_all_experts(gpt, 31, 1) and loads_all_experts(gpt, 32, 1)
    assert loads_all_experts(gpt, 8, 4) and not loads_all_experts(WORKLOADS["llama3-8b"],
                                                                   4096, 1)
    below, at = (decode_step(SPECS, TRN2, gpt, batch, CALIBRATION, ASSUMPTIONS, tp=16,
                             context=576) for batch in (31, 32))
    assert below.weights_read < below.memory.weights
    assert at.weights_read == at.memory.weights
    gemms, _ = stage_gemms(gpt, 16, 4, 32, 32, gpt.layers, all_experts=True)
    experts = [g for g in gemms if g.name.startswith("all experts")]
    # Every expert of every layer over all 32 tokens, the chip's quarter of each (TP 16 over
    # 4 chips).
    assert {g.n for g in experts} == {32}
    assert {g.count for g in experts} == {gpt.layers * 128}
    assert sorted(g.m for g in experts) == sorted([gpt.hidden, 2 * gpt.expert_ffn // 4])


@pytest.mark.parametrize("tokens, mode", [
    (16, "selective"), (100, "all experts"), (128, "blockwise"), (512, "blockwise")])
def test_prefill_chooses_nxds_expert_pass_by_the_routed_rows(tokens, mode):
    gpt = WORKLOADS["gpt-oss-120b"]
    # 16 tokens: 64 routed rows for 128 experts; 100: 400 rows, under one block of 512.
    assert prefill_expert_mode(gpt, tokens, 1, 512) == mode
    assert prefill_expert_mode(gpt, tokens, 1, None) == "routed"
