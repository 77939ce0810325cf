"""The MX accuracy table (``python -m sim_models.mx_accuracy``): its figures on short runs and
its command line."""

import numpy as np
import pytest

from sim_models.mx_accuracy import MODES, destination_ulps, main, measure


def test_destination_ulps_count_in_the_destinations_last_place():
    exact = np.array([1.0, 1.0, -3.0, 0.0, 2.0 ** -130])
    assert destination_ulps(exact + [2.0 ** -23, 0, 0, 0, 0], exact, "fp32")[0] == 1
    assert destination_ulps(np.array([1 + 2.0 ** -7]), np.array([1.0]), "bf16")[0] == 1
    assert destination_ulps(np.array([-3.0 - 2.0 ** -6]), np.array([-3.0]), "bf16")[0] == -1
    # Zero and subnormal exact values count in the ULP of the smallest normal.
    ulps = destination_ulps(np.array([2.0 ** -149, 0.0]), np.array([0.0, 2.0 ** -149]), "fp32")
    assert ulps.tolist() == [1.0, -1.0]


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.label)
def test_every_mode_is_within_its_rules_and_inside_aws_band(mode):
    """One GEMM of K = 128 per mode: FP32 results within the rules' bound (R13), BF16 results
    within half a BF16 ULP of the FP32 result's rounding (RNE) or one ULP (SR) plus the FP32
    error, and every element inside AWS's 5e-2 band."""
    result = measure(mode, gemms=1, k=128)
    assert result.elements == 256
    assert result.inside_aws_band == 1.0
    if mode.destination.dtype == "fp32":
        assert result.largest_share_of_bound <= 1.0
    else:
        assert result.largest_share_of_bound is None
        assert result.largest_ulps < (0.5 if mode.destination.rounding == "rne" else 1.0) + 0.01


def test_the_command_prints_one_row_per_mode(capsys):
    assert main(["--gemms", "1", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("seed 7, 1 GEMMs of K = 512")
    for mode in MODES:
        assert f"| {mode.label} | 256 |" in out


@pytest.mark.parametrize("argv, message", [
    (["--gemms", "0"], "Parameter '--gemms' must be an integer in 1..64, not 0"),
    (["--gemms", "65"], "Parameter '--gemms' must be an integer in 1..64, not 65"),
    (["--seed", "-1"], "Parameter '--seed' must be an integer in 0..4294967295, not -1"),
    (["--gemms", "many"], "argument --gemms: invalid int value: 'many'"),
])
def test_bad_input_is_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert capsys.readouterr().err == f"python -m sim_models.mx_accuracy: error: {message}\n"
