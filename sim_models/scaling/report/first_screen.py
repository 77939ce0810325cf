"""The report's first screen: for Trainium2 and Trainium3 (instance and UltraServer), what a
representative training job and inference job get, each with how sure the model is (its band
from held-out measurements, :mod:`..confidence`) and a mark where it extrapolates; then the
peaks, with their units."""

from ..formatting import number, percent
from ..peak import chip_peak
from .runs import ANSWER_WORKLOAD, INFERENCE_BATCH

__all__ = ["first_screen"]


def _range(answer, scale=1.0, as_percent=False):
    """"low to high" of ``answer``'s band times ``scale``; "no band" without one, "-" without
    a value."""
    interval = answer.interval
    if interval is None:
        return "-" if answer.value is None else "no band"
    low, high = (scale * end for end in interval)
    if as_percent:
        return f"{percent(low)} to {percent(high)}"
    return f"{number(low, 3)} to {number(high, 3)}"


def _extrapolated(answers):
    """The marker cell: "no", or "yes" when any of ``answers`` extrapolates."""
    return "yes" if any(answer.extrapolated for answer in answers) else "no"


def _reasons(runs):
    """One bullet per (quantity, reason) of the extrapolated answers, naming its systems."""
    systems = {}
    for answers in runs.answers:
        for answer in (answers.tokens_per_chip, answers.ttft, answers.per_token):
            for reason in answer.reasons:
                systems.setdefault((answer.quantity, reason), []).append(answers.system.name)
    return [f"{quantity}, extrapolated: {reason} ({', '.join(names)})"
            for (quantity, reason), names in systems.items()]


def _bands(answers):
    """One bullet per band used: its kind, generation and held-out errors."""
    seen = {}
    for answer in answers:
        if answer.band is not None:
            seen.setdefault((answer.band.kind, answer.band.generation), answer.band)
    return [band.describe() for band in seen.values()]


def _training(document, runs, workload):
    document.heading(f"Training {workload.name}, BF16, in the layout the model picks", level=3)
    document.table(
        ["system", "chips", "tokens/s per chip", "likely range", "MFU", "likely range",
         "extrapolated"],
        [[answers.system.name, number(answers.training.chips),
          number(answers.tokens_per_chip.value), _range(answers.tokens_per_chip),
          percent(answers.mfu.value), _range(answers.mfu, as_percent=True),
          _extrapolated([answers.tokens_per_chip])] for answers in runs.answers],
        numeric=(1, 2, 4))


def _inference(document, runs, workload):
    context = number(workload.decode_context)
    document.heading(f"Inference {workload.name}, BF16, batch {INFERENCE_BATCH}, {context}-token "
                     f"prompt and context", level=3)
    rows = []
    for answers in runs.answers:
        ttft, per_token = answers.ttft, answers.per_token
        rows.append([answers.system.name,
                     number(None if ttft.value is None else 1e3 * ttft.value),
                     _range(ttft, 1e3),
                     number(None if per_token.value is None else 1e3 * per_token.value),
                     _range(per_token, 1e3), _extrapolated([ttft, per_token])])
    document.table(["system", "time to first token (ms)", "likely range (ms)",
                    "time per output token (ms)", "likely range (ms)", "extrapolated"], rows,
                   numeric=(1, 3))


def _how_sure(document, runs):
    document.heading("How sure these answers are", level=3)
    answers = [answer for system in runs.answers
               for answer in (system.tokens_per_chip, system.ttft, system.per_token)]
    document.paragraph(
        "Likely range: where AWS's measurement would lie if the model erred as it did on the "
        "held-out validation rows of the same kind and chip generation (rows it was not "
        "fitted on; the summary lists them). Extrapolated: no measurement of the kind exists, "
        "or the configuration lies outside the measured ones. The MFU's range is the training "
        "range's: the two are proportional.")
    document.bullets(_bands(answers) + _reasons(runs))


def _peaks(document, runs):
    document.heading("Peaks", level=3)
    rows = []
    for answers in runs.answers:
        system = answers.system
        chip = runs.specs.chip(system.chip)
        chips = system.chips.value
        eight_bit = "mxfp8" if "mxfp8" in chip.core.macs_per_pe_per_cycle else "fp8"
        rows.append([system.name, number(int(chips)),
                     number(chip_peak(chip, "bf16") / 1e12),
                     number(chip_peak(chip, eight_bit) / 1e12), eight_bit.upper(),
                     number(chip.hbm_capacity.value / 2 ** 30),
                     number(chip.hbm_bandwidth.value / 1e12)])
    document.table(["system", "chips", "BF16 per chip (TFLOP/s)",
                    "8-bit per chip (TFLOP/s)", "8-bit format", "HBM per chip (GiB)",
                    "HBM per chip (TB/s)"], rows, numeric=(1, 2, 3, 5, 6))


def first_screen(document, runs):
    """Add the answers of ``runs`` (ReportRuns) for the systems of the first screen."""
    workload = runs.workloads[ANSWER_WORKLOAD]
    document.heading("Answers: Trainium2 and Trainium3")
    _training(document, runs, workload)
    _inference(document, runs, workload)
    _peaks(document, runs)
    _how_sure(document, runs)
