"""The mechanisms of the training and decode steps: degrees counted in NeuronCores, the 1F1B
bubble, collectives of each kind, the other engines, memory capacity, the decode mapping, work
that does not grow with the batch, and the calibration against AWS's measurements. No
simulator needed."""

import time
from dataclasses import replace

import pytest

from sim_models.scaling.assumptions import Assumptions
from sim_models.scaling.calibration import FITTED, GOAL, check_rows, fit
from sim_models.scaling.decode import attention_gemms, check_possible, decode_step
from sim_models.scaling.gemm import chip_gemm
from sim_models.scaling.measurements import MEASUREMENTS_FILE, load_measurements
from sim_models.scaling.memory import training_memory
from sim_models.scaling.network import FabricCalibration
from sim_models.scaling.parallel import (DecodePlan, TrainingPlan, check_decode_plan,
                                         logical_cores_per_chip, system_of_chips)
from sim_models.scaling.prefill import prefill_step
from sim_models.scaling.speculative import speculative_step
from sim_models.scaling.training import (best_training_plan, default_global_batch,
                                         training_layouts, training_step)
from sim_models.scaling.workloads import load_workloads
from sim_models.specs import SpecError, load_specs

SPECS = load_specs()
CALIBRATION = FabricCalibration.from_estimate()
ASSUMPTIONS = Assumptions()
WORKLOADS = load_workloads()
TRN1_CLUSTER = system_of_chips(SPECS, SPECS.system("trn1-instance"), 512)
LLAMA_70B = TrainingPlan(32, 8, 4, 1, 1024, 8192, "bf16", 1, True)


def _train(plan, workload="llama3-70b", system=TRN1_CLUSTER, assumptions=ASSUMPTIONS):
    return training_step(SPECS, system, WORKLOADS[workload], CALIBRATION, assumptions, plan)


def test_degrees_count_logical_neuroncores():
    # 32 x 32 = 1,024 cores = 512 Trn1 chips (2 cores each); a Trn2 chip counts 4 (LNC=2).
    assert logical_cores_per_chip(SPECS.chip("trn1")) == 2
    assert logical_cores_per_chip(SPECS.chip("trn2")) == 4
    assert _train(replace(LLAMA_70B, pp=1, dp=32), "llama3-8b").fits
    with pytest.raises(SpecError, match=r"^--tp 32 --pp 8 --dp 2: TP x PP x DP = 512 must "
                                        r"equal the 1024 logical NeuronCores of 512 Trainium "
                                        r"chips$"):
        _train(replace(LLAMA_70B, dp=2))


def test_tp_that_splits_no_chip_evenly_is_refused():
    workload = replace(WORKLOADS["llama3-8b"], heads=24, kv_heads=8)
    with pytest.raises(SpecError, match=r"^--decode-tp 6: must divide or be a multiple of the 4 "
                                        r"logical cores of a Trainium2 chip$"):
        check_decode_plan(SPECS, SPECS.system("trn2-instance"), workload,
                          DecodePlan(6, 1, 128, "bf16"))


def test_pipeline_bubble_is_pp_minus_one_slots():
    step = _train(LLAMA_70B)
    assert step.slots == 256 + 7
    assert step.bubble_seconds == pytest.approx(7 * step.slot_seconds)
    assert step.seconds == pytest.approx(step.slots * step.slot_seconds
                                         + step.dp_exposed_seconds + step.optimizer_seconds)
    # Fewer micro-batches per pipeline: the same bubble weighs more.
    small = _train(replace(LLAMA_70B, global_batch=64))
    assert small.bubble_seconds / small.seconds > 10 * step.bubble_seconds / step.seconds


def test_collectives_of_each_kind_are_on_the_critical_path_as_stated():
    step = _train(LLAMA_70B)
    assert step.tp_seconds > 0 and step.pp_seconds > 0 and step.dp_seconds > 0
    # TP all-reduces and PP sends are never hidden; the DP reduction hides behind a backward.
    assert step.exposed_seconds == pytest.approx(step.slots * (step.tp_seconds + step.pp_seconds)
                                                 + step.dp_exposed_seconds)
    assert step.dp_exposed_seconds < step.dp_seconds
    # A TP group spread over two instances also reduces over the scale-out network: each
    # layer's all-reduces take longer than inside one instance's torus (10 and 20 layers).
    across = _train(replace(LLAMA_70B, tp=64, pp=4))
    assert across.tp_seconds / 20 > 1.2 * step.tp_seconds / 10


def test_other_engines_and_the_fitted_overhead_are_counted():
    step = _train(LLAMA_70B)
    assert step.engine_seconds > 0
    serial = _train(LLAMA_70B, assumptions=replace(ASSUMPTIONS, engines_overlap=False))
    assert serial.slot_seconds == pytest.approx(step.slot_seconds + step.engine_seconds)
    bare = _train(LLAMA_70B, assumptions=replace(ASSUMPTIONS, layer_overhead_seconds=0.0))
    assert step.slot_seconds - bare.slot_seconds == pytest.approx(
        10 * 3 * ASSUMPTIONS.layer_overhead_seconds)   # 10 layers x forward, backward, again


def test_memory_falls_with_each_zero_stage_and_with_recomputation():
    chip, workload = SPECS.chip("trn1"), WORKLOADS["llama3-70b"]
    uses = [training_memory(chip, workload, replace(LLAMA_70B, zero_stage=stage), ASSUMPTIONS)
            for stage in range(4)]
    assert [use.total for use in uses] == sorted((use.total for use in uses), reverse=True)
    assert uses[0].optimizer == 4 * uses[1].optimizer
    kept = training_memory(chip, workload, replace(LLAMA_70B, recompute=False), ASSUMPTIONS)
    assert kept.activations > 5 * uses[1].activations


def test_a_plan_that_does_not_fit_is_not_timed():
    # 70B on one Trn1 instance with TP 32 and no pipeline: about 35 GB of states per chip.
    step = _train(TrainingPlan(32, 1, 1, 1, 32, 8192, "bf16", 0, True),
                  system=SPECS.system("trn1-instance"))
    assert not step.fits and step.memory.total > step.memory.capacity
    assert step.slot_seconds is None and step.dp_seconds is None


def test_8_bit_training_is_faster_where_the_chip_has_it():
    trn2 = SPECS.system("trn2-ultraserver")
    plan = TrainingPlan(32, 1, 8, 1, 64, 8192, "bf16", 1, True)
    bf16 = _train(plan, system=trn2)
    fp8 = _train(replace(plan, datatype="fp8"), system=trn2)
    assert fp8.tensor_seconds < 0.7 * bf16.tensor_seconds
    trn3 = SPECS.system("trn3-gen1-ultraserver")
    plan3 = replace(plan, tp=64, dp=4)
    assert _train(replace(plan3, datatype="mxfp8"), system=trn3).tensor_seconds < \
        0.5 * _train(plan3, system=trn3).tensor_seconds


def test_decode_at_batch_1_is_hbm_bound_and_streams_the_weights():
    for key in ("trn2-instance", "trn3-gen2-ultraserver"):
        system = SPECS.system(key)
        chip = SPECS.chip(system.chip)
        step = decode_step(SPECS, system, WORKLOADS["llama3-70b"], 1, CALIBRATION, ASSUMPTIONS)
        streamed = step.memory.weights / (chip.hbm_bandwidth.value * ASSUMPTIONS.hbm_efficiency)
        assert streamed <= step.gemm_seconds < 1.1 * streamed
        assert "tokens stationary" in step.mappings
    # The mapping is chosen by cost: the tokens stationary take fewer TensorE cycles at batch 1.
    trn2 = SPECS.chip("trn2")
    assert chip_gemm(trn2, 1, 8192, 4096, "bf16").compute_seconds < \
        chip_gemm(trn2, 4096, 8192, 1, "bf16").compute_seconds


def test_a_tp_group_smaller_than_a_chip_reads_every_replicas_weights():
    # Trn2, 4 logical cores per chip: TP 1 puts four replicas, four copies of the weights, on
    # each chip; the step reads all of them, never faster than the HBM peak.
    system, chip = SPECS.system("trn2-instance"), SPECS.chip("trn2")
    steps = {tp: decode_step(SPECS, system, WORKLOADS["llama3-8b"], 1, CALIBRATION,
                             ASSUMPTIONS, tp=tp) for tp in (1, 2, 4, 8)}
    for step in steps.values():
        assert step.implied_hbm_bandwidth <= chip.hbm_bandwidth.value
    assert steps[1].memory.weights == 4 * steps[4].memory.weights
    assert steps[1].gemm_seconds >= 3.9 * steps[4].gemm_seconds
    # An answer that would read faster than the HBM peak is refused, not printed.
    impossible = replace(steps[1], gemm_seconds=steps[1].gemm_seconds / 10)
    with pytest.raises(SpecError, match=r"^model answer cannot be true: TP 1 decode of "
                                        r"[0-9.]+ ms per token implies [0-9.]+ TB/s of HBM "
                                        r"per chip against the 2.9 TB/s of a Trainium2$"):
        check_possible(impossible, chip)


def test_more_chips_decode_more_tokens():
    small, large = (decode_step(SPECS, SPECS.system(key), WORKLOADS["llama3-70b"], 1,
                                CALIBRATION, ASSUMPTIONS)
                    for key in ("trn3-gen1-ultraserver", "trn3-gen2-ultraserver"))
    assert large.tokens_per_second > 2 * small.tokens_per_second


def test_decode_work_does_not_grow_with_the_batch():
    system, workload = SPECS.system("trn2-ultraserver"), WORKLOADS["llama3-8b"]
    start = time.perf_counter()
    huge = decode_step(SPECS, system, workload, 1 << 40, CALIBRATION, ASSUMPTIONS)
    assert not huge.fits and huge.gemm_seconds is None
    assert time.perf_counter() - start < 1
    with pytest.raises(SpecError, match=r"^--batch 1099511627777: must be an integer from 1 "):
        decode_step(SPECS, system, workload, (1 << 40) + 1, CALIBRATION, ASSUMPTIONS)
    big = decode_step(SPECS, system, workload, 200_000, CALIBRATION, ASSUMPTIONS, context=1)
    assert big.fits and big.tokens_per_second > 0


def test_every_measurement_row_is_checked_and_the_fit_is_the_default():
    rows = check_rows(SPECS, WORKLOADS, CALIBRATION, ASSUMPTIONS)
    measurements = load_measurements()
    assert {row.key for row in rows} == {row.key for row in measurements}
    assert {row.role for row in rows} == {"calibration", "validation"}
    for row in rows:
        assert row.model is not None
        if row.role == "calibration":
            assert abs(row.error) < 0.005, row
        verdict = "Outside the 15% goal" if abs(row.error) > GOAL else "Within 15%"
        assert f"{verdict}: this row alone would need" in row.explanation, row
    # A validation row the model misses says why, by mechanism (its ``miss``), in its
    # explanation; a row the model holds carries no stale one.
    misses = {row.key: row.miss for row in measurements}
    for row in rows:
        outside = row.role == "validation" and abs(row.error) > GOAL
        assert bool(misses[row.key]) == outside, row
        assert (f". Why: {misses[row.key]}" in row.explanation) == outside, row
    fitted = fit(SPECS, WORKLOADS, CALIBRATION, ASSUMPTIONS)
    for name in FITTED:
        assert getattr(fitted, name) == pytest.approx(getattr(ASSUMPTIONS, name), rel=0.01)


def test_measurements_cite_urls():
    sources = SPECS.sources
    for row in load_measurements():
        assert row.url.startswith("https://") and row.source in sources
        assert row.url in sources[row.source].urls


def test_a_cluster_needs_a_scale_out_network():
    instance = replace(SPECS.system("trn2-instance"), scale_out_latency=None)
    with pytest.raises(SpecError, match=r"^--chips 32: Trn2 instance \(trn2.48xlarge\) has no "
                                        r"scale-out network in the spec data; allowed: 16$"):
        system_of_chips(SPECS, instance, 32)


MEASUREMENT_ERRORS = [
    (('kind = "decode"', 'kind = "serving"', 1),
     r"^measurements.toml: measurement 'trn1-llama3-70b-decode-1152': field 'kind' is "
     r"'serving'; allowed: training, decode, prefill$"),
    (('\nrole = "validation"', '\nrole = "check"', 1),
     r"^measurements.toml: measurement 'trn1-llama3-70b-training': field 'role' is 'check'; "
     r"allowed: calibration, validation$"),
    (('unit = "ms/token"', 'unit = "s/token"', 1),
     r"^measurements.toml: measurement 'trn1-llama3-70b-decode-1152': field 'unit' is "
     r"'s/token'; a decode row is in ms/token$"),
    (("zero_stage = 1\n", "", 1),
     r"^measurements.toml: measurement 'trn1-llama3-8b-training': fields missing "
     r"\['zero_stage'\], unknown \[\]$"),
    (("\nbatch = 1\n", "\nbatch = 1\nspeculation = 7\n", 1),
     r"^measurements.toml: measurement 'trn1-llama3-70b-decode-1152': fields missing \[\], "
     r"unknown \['speculation'\]$"),
]


@pytest.mark.parametrize("edit, message", MEASUREMENT_ERRORS,
                         ids=["kind", "role", "unit", "missing", "unknown"])
def test_malformed_measurements_are_named_in_one_line(edit, message, tmp_path):
    broken = tmp_path / "measurements.toml"
    broken.write_text(MEASUREMENTS_FILE.read_text().replace(*edit))
    with pytest.raises(SpecError, match=message):
        load_measurements(broken)


def test_a_cluster_of_any_size_keeps_its_own_scale_out_network():
    cluster = SPECS.system("trn3-ultracluster")
    smaller = system_of_chips(SPECS, cluster, 1440)
    assert smaller.chips.value == 1440 and smaller.level == "cluster"
    assert smaller.scale_out_bandwidth == cluster.scale_out_bandwidth
    assert system_of_chips(SPECS, cluster, 144) == SPECS.system("trn3-gen2-ultraserver")


def test_mfu_counts_exactly_the_flops_the_step_times():
    # Forward, input gradient and weight gradient of every GEMM, attention halved by causal
    # skipping as the step times it: at 128k tokens full attention would count twice as much.
    plan = TrainingPlan(32, 1, 8, 1, 128, 131072, "bf16", 1, True)
    workload = WORKLOADS["llama3-8b"]
    step = _train(plan, "llama3-8b", SPECS.system("trn2-ultraserver"))
    tokens = plan.global_batch * plan.sequence
    dense = sum(gemm.flops for gemm in workload.weight_gemms(tokens))
    attention = sum(gemm.flops for gemm in workload.attention_gemms(
        plan.global_batch, plan.sequence, plan.sequence))
    assert step.model_flops == pytest.approx(3 * (dense + attention / 2))
    assert step.mfu < 0.7


def test_the_default_layout_is_the_best_that_fits():
    system, workload = SPECS.system("trn2-ultraserver"), WORKLOADS["llama3-70b"]
    search = best_training_plan(SPECS, system, workload, CALIBRATION, ASSUMPTIONS)
    others = [training_step(SPECS, system, workload, CALIBRATION, ASSUMPTIONS, plan)
              for plan in training_layouts(SPECS, system, workload, ASSUMPTIONS)]
    same_batch = [step for step in others
                  if step.fits and step.plan.global_batch == search.plan.global_batch]
    assert search.fitting == sum(step.fits for step in others) and search.tried == len(others)
    assert search.step.tokens_per_second == max(step.tokens_per_second for step in same_batch)
    # The smallest group that fits (TP 32, no pipeline) is not it.
    smallest = _train(replace(search.plan, tp=32, pp=1, dp=8), system=system)
    assert search.step.tokens_per_second > 1.2 * smallest.tokens_per_second
    assert training_step(SPECS, system, workload, CALIBRATION, ASSUMPTIONS).plan == search.plan
    only = best_training_plan(SPECS, system, workload, CALIBRATION, ASSUMPTIONS, tp=64, pp=1)
    assert (only.plan.tp, only.plan.pp, only.plan.dp, only.tried) == (64, 1, 4, 1)


def test_the_default_batch_stops_growing_at_the_stated_tokens_per_step():
    workload = WORKLOADS["llama3-70b"]
    per_chip = workload.sequences_per_chip * workload.sequence
    small = SPECS.system("trn2-ultraserver")
    assert default_global_batch(small, workload, ASSUMPTIONS) * workload.sequence == \
        per_chip * 64
    for chips in (4096, 100_000):
        system = system_of_chips(SPECS, SPECS.system("trn2-ultracluster"), chips)
        tokens = default_global_batch(system, workload, ASSUMPTIONS) * workload.sequence
        assert tokens == ASSUMPTIONS.max_tokens_per_step < per_chip * chips


def test_prefill_times_every_prompt_token_and_the_head_on_the_last():
    system, workload = SPECS.system("trn2-instance"), WORKLOADS["llama3-70b"]
    short, long = (prefill_step(SPECS, system, workload, prompt, 1, CALIBRATION, ASSUMPTIONS,
                                tp=64) for prompt in (1000, 10000))
    # Ten times the prompt: at least ten times the weight GEMMs (compute bound), and more for
    # the causal attention, whose work grows with the prompt's square.
    assert long.compute_seconds > 10 * short.compute_seconds * 0.95
    assert long.tokens_per_second < short.tokens_per_second * 1.5
    # Batch 2 of the same prompt: twice the tokens, never less time.
    double = prefill_step(SPECS, system, workload, 10000, 2, CALIBRATION, ASSUMPTIONS, tp=64)
    assert 1.8 * long.seconds < double.seconds < 2.2 * long.seconds
    # The fitted efficiency divides the compute-bound GEMMs only.
    ideal = prefill_step(SPECS, system, workload, 10000, 1, CALIBRATION,
                         replace(ASSUMPTIONS, prefill_efficiency=1.0), tp=64)
    assert ideal.compute_seconds == pytest.approx(
        long.compute_seconds * ASSUMPTIONS.prefill_efficiency, rel=0.05)
    huge = prefill_step(SPECS, system, workload, 1 << 30, 1, CALIBRATION, ASSUMPTIONS, tp=64)
    assert not huge.fits and huge.seconds is None


def test_each_answer_says_how_much_of_it_the_fit_decides():
    system, workload = SPECS.system("trn2-instance"), WORKLOADS["llama3-70b"]
    decode = decode_step(SPECS, system, workload, 1, CALIBRATION, ASSUMPTIONS, tp=64)
    assert decode.fitted_seconds == pytest.approx(
        (2 * workload.layers + 1) * ASSUMPTIONS.collective_seconds)
    assert decode.fitted_seconds < decode.communication_seconds
    alone = decode_step(SPECS, system, WORKLOADS["llama3-8b"], 1, CALIBRATION, ASSUMPTIONS,
                        tp=1)
    assert alone.fitted_seconds == 0.0 and alone.communication_seconds == 0.0
    prefill = prefill_step(SPECS, system, workload, 10000, 1, CALIBRATION, ASSUMPTIONS, tp=64)
    ideal = prefill_step(SPECS, system, workload, 10000, 1, CALIBRATION,
                         replace(ASSUMPTIONS, prefill_efficiency=1.0, collective_seconds=0.0),
                         tp=64)
    assert prefill.fitted_seconds == pytest.approx(prefill.seconds - ideal.seconds, rel=1e-6)


def test_speculative_decoding_shares_one_read_of_the_target_per_round():
    system = SPECS.system("trn2-instance")
    target, draft = WORKLOADS["llama3-70b"], WORKLOADS["llama3-2-1b"]
    plain = decode_step(SPECS, system, target, 1, CALIBRATION, ASSUMPTIONS, tp=64)
    step = speculative_step(SPECS, system, target, draft, 1, 4, 3.5, CALIBRATION, ASSUMPTIONS,
                            tp=64)
    # Five tokens per sequence verified at about the cost of one: the weights are read once.
    assert plain.seconds < step.target.seconds < 1.2 * plain.seconds
    assert step.draft.plan.tp == 32    # the draft's 32 heads split at most 32 ways
    assert step.seconds == pytest.approx((4 * step.draft.seconds + step.target.seconds) / 3.5)
    assert step.memory.weights == plain.memory.weights + step.draft.memory.weights
    with pytest.raises(SpecError, match=r"^--accepted 0.5: must be from 1 to speculation \+ 1"):
        speculative_step(SPECS, system, target, draft, 1, 4, 0.5, CALIBRATION, ASSUMPTIONS)
    with pytest.raises(SpecError, match=r"^--speculation 0: must be an integer from 1 to "):
        speculative_step(SPECS, system, target, draft, 1, 0, 1, CALIBRATION, ASSUMPTIONS)


def test_decode_attention_is_timed_per_sequence_at_its_own_shape():
    system, workload = SPECS.system("trn2-instance"), WORKLOADS["llama3-70b"]
    steps = {batch: decode_step(SPECS, system, workload, batch, CALIBRATION, ASSUMPTIONS,
                                tp=64, context=8192) for batch in (1, 4)}
    # One query row per core against 8,192 keys keeps the array nearly idle: the cycle model
    # takes longer than reading the cache, and every sequence adds its own.
    chip = SPECS.chip("trn2")
    read = steps[1].memory.kv_cache / (chip.hbm_bandwidth.value * ASSUMPTIONS.hbm_efficiency)
    assert steps[1].kv_seconds > read
    assert steps[4].kv_seconds == pytest.approx(4 * steps[1].kv_seconds, rel=0.05)
    gemms = attention_gemms(workload, steps[1].plan, 4)
    assert [(g.m, g.k, g.n) for g in gemms] == [(8192, 128, 1), (128, 8192, 1)]
    assert all(g.count == 80 * 4 and g.fused for g in gemms)
    # The Vector/Scalar work is timed (busy) even where the GEMMs hide it.
    assert steps[4].engine_busy_seconds > steps[1].engine_busy_seconds > 0
    assert steps[1].engine_seconds == max(0.0, steps[1].engine_busy_seconds
                                          - steps[1].gemm_seconds)


def test_fp8_weights_beside_a_bf16_cache():
    system, workload = SPECS.system("trn2-instance"), WORKLOADS["llama3-405b"]
    steps = {kv: decode_step(SPECS, system, workload, 1, CALIBRATION, ASSUMPTIONS, tp=64,
                             context=10893, datatype="fp8", kv_datatype=kv)
             for kv in ("fp8", "bf16")}
    bf16 = decode_step(SPECS, system, workload, 1, CALIBRATION, ASSUMPTIONS, tp=64,
                       context=10893)
    assert steps["bf16"].memory.weights == steps["fp8"].memory.weights == \
        bf16.memory.weights / 2
    assert steps["bf16"].memory.kv_cache == bf16.memory.kv_cache == \
        2 * steps["fp8"].memory.kv_cache
    assert steps["fp8"].seconds < steps["bf16"].seconds < bf16.seconds
    assert steps["bf16"].plan.cache_datatype == "bf16"


def test_decode_engine_work_fills_few_partitions_and_repeats_the_norms_on_every_rank():
    from sim_models.scaling.engines import (PARTITIONS, EngineWork, replicated_work,
                                            token_work)
    chip, workload = SPECS.chip("trn2"), WORKLOADS["llama3-70b"]
    work = EngineWork(1e9, 1e9, 0.0)
    # One row on one of 128 partitions: the published rate over 128.
    assert work.seconds(chip, rows=1) == pytest.approx(PARTITIONS * work.seconds(chip))
    assert work.seconds(chip, rows=512) == work.seconds(chip) == work.seconds(chip, rows=None)
    # Every rank of a TP group repeats the norms and residual adds over the whole hidden
    # vector: its work is its share plus that, never less than the norms alone.
    one = token_work(workload, 1)
    norms = replicated_work(workload, 1, 64) + token_work(workload, 1).scaled(1 / 64)
    assert norms.vector > 10 * workload.hidden > one.vector / 64
    assert replicated_work(workload, 1, 1).vector == 0.0
    # Decode: at batch 1 to 64 the per-token work takes the same time (the rows share the
    # partitions), so the busy time grows far less than the batch; and it shows (not 0.00 ms).
    system = SPECS.system("trn2-instance")
    steps = {batch: decode_step(SPECS, system, workload, batch, CALIBRATION, ASSUMPTIONS,
                                tp=64, context=1024) for batch in (1, 64)}
    assert steps[1].engine_busy_seconds > 1e-4
    assert steps[1].engine_busy_seconds < steps[64].engine_busy_seconds < \
        4 * steps[1].engine_busy_seconds
