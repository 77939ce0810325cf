"""Confidence on every answer: bands from the held-out (validation) rows only, inverted for
reciprocal quantities, and the extrapolation marker. No simulator needed."""

import json

import pytest

from sim_models.scaling import __main__ as cli
from sim_models.scaling.calibration import RowCheck
from sim_models.scaling.confidence import Confidence
from sim_models.scaling.measurements import load_measurements
from sim_models.specs import load_specs

SPECS = load_specs()
MEASUREMENTS = load_measurements()


def _checks(errors):
    """A RowCheck per measurement, with the given error by key (0 for the others)."""
    return [RowCheck(row.key, row.role, row.kind, row.unit,
                     row.figure * (1 + errors.get(row.key, 0.0)), row.figure, "")
            for row in MEASUREMENTS]


def test_bands_hold_only_validation_rows_and_the_model_value():
    calibration = next(row for row in MEASUREMENTS
                       if row.role == "calibration" and row.kind == "decode")
    validation = [row for row in MEASUREMENTS if row.role == "validation"
                  and row.kind == "decode" and row.system.startswith("trn1")]
    errors = {calibration.key: 0.9, validation[0].key: -0.2, validation[1].key: 0.1}
    confidence = Confidence.from_checks(SPECS, _checks(errors), MEASUREMENTS)
    band = confidence.band("decode", "trn1")
    assert calibration.key not in dict(band.errors)
    assert band.rows == len(validation)
    assert (band.lowest, band.highest) == pytest.approx((-0.2, 0.1))
    # A model value v: the published figure lies within v / 1.1 .. v / 0.8.
    assert band.interval(10.0) == pytest.approx((10.0 / 1.1, 10.0 / 0.8))
    # The reciprocal quantity (tokens/s of a ms/token kind): v x 0.8 .. v x 1.1.
    assert band.interval(10.0, inverse=True) == pytest.approx((8.0, 11.0))
    # Every error positive: the band still holds the model's own value.
    only = Confidence.from_checks(SPECS, _checks({row.key: 0.05 for row in validation}),
                                  MEASUREMENTS).band("decode", "trn1")
    assert only.lowest == 0.0 and only.interval(1.0)[1] == pytest.approx(1.0)


def test_an_answer_without_rows_of_its_kind_is_extrapolated():
    confidence = Confidence.from_checks(SPECS, _checks({}), MEASUREMENTS)
    answer = confidence.answer("decode", "trn3", "seconds per token", 0.01, "s")
    assert answer.extrapolated and answer.band is None and answer.interval is None
    assert answer.reasons == ("no measurement of this kind (trn3 dense decode)",)
    inside = confidence.answer("decode", "trn1", "seconds per token", 0.01, "s",
                               config={"batch": 1, "chips": 16})
    assert not inside.extrapolated and inside.interval is not None
    outside = confidence.answer("decode", "trn1", "seconds per token", 0.01, "s",
                                config={"batch": 64, "chips": 16})
    assert outside.reasons == ("batch 64 outside the measured 1",)
    fp8 = confidence.answer("decode", "trn2", "seconds per token", 0.01, "s",
                            config={"datatype": "fp8", "context": 10800})
    assert fp8.reasons == ("datatype fp8 outside the measured bf16",)
    assert outside.as_dict()["extrapolated"] is True


def _run(argv, capsys):
    status = cli.main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_every_cli_answer_carries_its_band(capsys):
    status, out, _ = _run(["--system", "trn2-instance", "--workload", "llama3-70b",
                           "--decode-tp", "64", "--context", "10750", "--json"], capsys)
    result = json.loads(out)
    assert result["decode"]["tokens_per_second_per_replica"] * result["decode"]["replicas"] == \
        pytest.approx(result["decode"]["tokens_per_second"])
    decode = result["decode"]["confidence"]
    assert status == 0 and not decode["extrapolated"]
    assert decode["band"]["generation"] == "trn2" and decode["band"]["held_out_rows"] >= 2
    assert decode["low"] <= decode["value"] <= decode["high"]
    prefill = result["prefill"]["confidence"]
    assert prefill["kind"] == "prefill" and prefill["band"]["generation"] == "trn2"
    assert result["prefill"]["seconds_to_first_token"] == prefill["value"]
    training = result["training"]["confidence"]
    assert training["extrapolated"] and training["low"] is None
    status, out, _ = _run(["--system", "trn3-gen2-ultraserver", "--workload", "llama3-70b"],
                          capsys)
    assert status == 0
    assert out.count("extrapolated: no measurement of this kind (trn3 dense") == 3
