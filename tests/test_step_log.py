"""tb.step_log: a step's own output goes to the log, not the console, and is timed; a command
that prints nothing leaves no log. And the format labels the console lines use."""

from sim_models.program import MatmulFormat
from tb.step_log import StepLog


def test_a_step_prints_to_its_log_and_is_timed(tmp_path, capsys):
    log = StepLog(tmp_path / "logs" / "run.log")
    with log.step() as timing:
        print("[simulate] detail")
    print("[step] summary")
    log.close()
    assert capsys.readouterr().out == "[step] summary\n"
    assert (tmp_path / "logs" / "run.log").read_text() == "[simulate] detail\n"
    assert timing["seconds"] >= 0


def test_a_silent_step_leaves_no_log_and_a_rerun_starts_it_afresh(tmp_path):
    path = tmp_path / "logs" / "run.log"
    with StepLog(path).step():
        pass
    assert not path.parent.exists()
    for text in ("first\n", "second\n"):
        log = StepLog(path)
        with log.step():
            print(text, end="")
        log.close()
    assert path.read_text() == "second\n"


def test_format_labels_spell_names_as_formats_does():
    assert MatmulFormat("int8", "int8").label == "int8"
    assert MatmulFormat("bf16", "fp8_e4m3").label == "bf16 x fp8_e4m3"
    assert MatmulFormat("fp8_e4m3", "fp8_e4m3", double_row=True).label == \
        "fp8_e4m3 double-row"

