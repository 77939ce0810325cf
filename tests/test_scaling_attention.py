"""Trn1's unfused attention and what AWS's time to first token counts: the softmax step by
step at the engines' clocks, the scores' trips through HBM when they outgrow SBUF, fused
attention elsewhere, and the first decode step inside TTFT. No simulator needed."""

from dataclasses import replace

import pytest

from sim_models.scaling.assumptions import Assumptions
from sim_models.scaling.decode import decode_step
from sim_models.scaling.engines import (SCORE_BYTES, UNFUSED_SOFTMAX_STEPS,
                                        unfused_scores_traffic, unfused_softmax_seconds)
from sim_models.scaling.network import FabricCalibration
from sim_models.scaling.prefill import prefill_step
from sim_models.scaling.training import gemm_seconds, pass_seconds, stage_gemms
from sim_models.scaling.workloads import load_workloads
from sim_models.specs import SpecError, load_specs

SPECS = load_specs()
CALIBRATION = FabricCalibration.from_estimate()
ASSUMPTIONS = Assumptions()
WORKLOADS = load_workloads()
TRN1 = SPECS.chip("trn1")


def _decode(context, batch=1, system="trn1-instance", workload="mistral-7b",
            assumptions=ASSUMPTIONS, tp=None):
    return decode_step(SPECS, SPECS.system(system), WORKLOADS[workload], batch, CALIBRATION,
                       assumptions, tp=tp, context=context)


def test_an_unfused_softmax_takes_its_steps_one_cycle_per_element_at_each_engines_clock():
    # Five Vector steps at 1.12 GHz and two Scalar steps at 1.4 GHz per element of the free
    # axis: 5.89 ns per context token, however many of the 128 partitions hold rows.
    per_element = 5 / 1.12e9 + 2 / 1.4e9
    assert UNFUSED_SOFTMAX_STEPS == {"vector": 5, "scalar": 2}
    assert unfused_softmax_seconds(TRN1, 3, 1000) == pytest.approx(3 * 1000 * per_element)
    without = replace(TRN1, core=replace(TRN1.core, scalar_clock=None))
    with pytest.raises(SpecError, match=r"^\S+trn1.toml: chip 'trn1' needs core.vector_clock "
                                        r"and core.scalar_clock to time an unfused softmax$"):
        unfused_softmax_seconds(without, 1, 1)


def test_trn1_decode_grows_with_the_context_by_its_unfused_softmax_and_trn2_does_not():
    short, long = _decode(1000), _decode(9000)
    # Mistral 7B, TP 32: one query head per core and layer, 32 layers.
    assert short.softmax_seconds == pytest.approx(
        unfused_softmax_seconds(TRN1, 32, 1000))
    assert long.softmax_seconds - short.softmax_seconds == pytest.approx(
        unfused_softmax_seconds(TRN1, 32, 8000))
    assert long.seconds - short.seconds == pytest.approx(
        long.softmax_seconds - short.softmax_seconds + long.kv_seconds - short.kv_seconds)
    trn2 = _decode(9000, system="trn2-instance")
    assert trn2.softmax_seconds == 0.0
    fused = _decode(9000, assumptions=replace(ASSUMPTIONS, unfused_attention_chips=()))
    assert fused.softmax_seconds == 0.0
    assert long.seconds - fused.seconds == pytest.approx(long.softmax_seconds)


def test_the_rows_of_a_batch_share_the_partitions_up_to_128():
    # 1 query head per core: up to 128 sequences share one instruction per step and layer.
    one, full, over = _decode(4000), _decode(4000, batch=128), _decode(4000, batch=129)
    assert full.softmax_seconds == pytest.approx(one.softmax_seconds)
    assert over.softmax_seconds == pytest.approx(2 * one.softmax_seconds)


def test_scores_go_through_hbm_only_when_they_outgrow_sbuf():
    sbuf = TRN1.core.sbuf.value
    rows = int(sbuf // (SCORE_BYTES * 1024))
    assert unfused_scores_traffic(TRN1, rows, 1024) == 0.0
    size = (rows + 1) * 1024 * SCORE_BYTES
    assert size > sbuf
    # Seven steps each read and write the scores; the two attention GEMMs write and read them.
    assert unfused_scores_traffic(TRN1, rows + 1, 1024) == pytest.approx(16 * size)


def _prefill(prompt, system="trn1-instance", workload="llama2-70b", assumptions=ASSUMPTIONS):
    return prefill_step(SPECS, SPECS.system(system), WORKLOADS[workload], prompt, 1,
                        CALIBRATION, assumptions)


def test_ttft_counts_one_decode_step_at_the_prompts_context():
    step = _prefill(1024)
    decode = decode_step(SPECS, SPECS.system("trn1-instance"), WORKLOADS["llama2-70b"], 1,
                         CALIBRATION, ASSUMPTIONS, context=1024)
    assert step.first_decode_seconds == pytest.approx(decode.seconds)
    assert step.seconds == pytest.approx(step.compute_seconds + step.communication_seconds
                                         + decode.seconds)
    alone = _prefill(1024, assumptions=replace(ASSUMPTIONS, ttft_decode_steps=0))
    assert alone.first_decode_seconds == 0.0
    assert step.seconds - alone.seconds == pytest.approx(decode.seconds)


def test_trn1_prefill_adds_its_unfused_softmax_and_the_spilled_scores_to_the_gemms():
    fused = replace(ASSUMPTIONS, unfused_attention_chips=())
    # 2,048 tokens of Llama-2 70B at TP 32: two heads per core, 33.5 MB of FP32 scores per
    # layer and core, more than the 24 MiB SBUF: every unfused step goes through HBM.
    step, without = _prefill(2048), _prefill(2048, assumptions=fused)
    spill = 80 * unfused_scores_traffic(TRN1, 2 * 2048, 2048) * 2 / (
        TRN1.hbm_bandwidth.value * ASSUMPTIONS.hbm_efficiency)
    assert spill > 0
    softmax = unfused_softmax_seconds(TRN1, 80 * 2 * 2048 // 128, 2048)
    assert step.softmax_seconds == pytest.approx(spill + softmax)
    # XLA's score GEMM covers every position and is masked after: the attention GEMMs' masked
    # half is computed too, where a fused kernel skips it.
    gemms, _ = stage_gemms(WORKLOADS["llama2-70b"], 32, 2, 2048, 1, 80)
    masked_half = gemm_seconds(TRN1, [g for g in gemms if g.fused], "bf16", ASSUMPTIONS,
                               ASSUMPTIONS.prefill_efficiency) / 2
    assert masked_half > 0
    assert step.compute_seconds - without.compute_seconds == pytest.approx(
        spill + softmax + masked_half)
    # 1,024 tokens: 8.4 MB of scores per core fit in SBUF, so only the instructions count.
    assert _prefill(1024).softmax_seconds == pytest.approx(
        unfused_softmax_seconds(TRN1, 80 * 2 * 1024 // 128, 1024))
    assert _prefill(2048, system="trn2-instance").softmax_seconds == 0.0


def test_causal_skipping_halves_only_the_attention_gemms():
    gemms, _ = stage_gemms(WORKLOADS["mistral-7b"], 32, 2, 8192, 1, 32)
    attention = [g for g in gemms if g.fused]
    assert len(attention) == 2
    full = pass_seconds(TRN1, gemms, "bf16", ASSUMPTIONS, causal_skip=False)
    skipped = pass_seconds(TRN1, gemms, "bf16", ASSUMPTIONS)
    assert full - skipped == pytest.approx(
        gemm_seconds(TRN1, attention, "bf16", ASSUMPTIONS) / 2)


def test_heads_that_tp_does_not_divide_are_padded_as_the_inference_libraries_pad_them():
    # Llama-2 13B's 40 heads over TP 32: Transformers NeuronX and NxD Inference add zero heads
    # up to 64, two per core, each 128 wide as before; its KV heads (multi-head attention)
    # with them. The padded heads' projections, scores and KV cache are timed and held.
    llama13 = WORKLOADS["llama2-13b"]
    padded = llama13.padded_for(32)
    assert (padded.heads, padded.kv_heads, padded.head_size, padded.hidden) == \
        (64, 64, 128, 5120)
    assert llama13.padded_for(8) is llama13 and llama13.padded_for(None) is llama13
    # Grouped-query attention is not padded: its TP must divide the heads.
    llama70 = WORKLOADS["llama3-70b"]
    assert llama70.padded_for(3) is llama70
    with pytest.raises(SpecError, match=r"^--decode-tp 3: must divide the 64 attention heads "):
        decode_step(SPECS, SPECS.system("trn1-instance"), llama70, 1, CALIBRATION,
                    ASSUMPTIONS, tp=3)
    instance = SPECS.system("trn1-instance")
    step = _decode(6144, workload="llama2-13b", tp=32)
    assert step.seconds == decode_step(SPECS, instance, padded, 1, CALIBRATION, ASSUMPTIONS,
                                       tp=32, context=6144).seconds
    # Per layer the projections hold 5,120 x (3 x 8,192) + 8,192 x 5,120 BF16 elements
    # instead of 4 x 5,120^2: the instance's one replica (16 chips) against TP 8's (4 chips).
    unpadded = _decode(6144, workload="llama2-13b", tp=8)
    extra = 40 * 2 * 4 * 5120 * (8192 - 5120)
    assert 16 * step.memory.weights == pytest.approx(4 * unpadded.memory.weights + extra,
                                                      rel=1e-6)
    # The prefill pads as well: two heads per core in the scores and the unfused softmax.
    assert prefill_step(SPECS, instance, llama13, 4096, 1, CALIBRATION, ASSUMPTIONS,
                        tp=32).seconds == prefill_step(
        SPECS, instance, padded, 4096, 1, CALIBRATION, ASSUMPTIONS, tp=32).seconds
