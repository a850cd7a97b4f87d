"""Attacker-shaped text cannot stall the analyzer: every pattern finishes on 20,000
characters built to make regexes backtrack (a run of dots after a place word once hung the
address-block pattern for minutes). Run in a child process so a hang fails the test at its
time limit instead of hanging the suite."""

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    from processors.pii.addresses import _continuation
    from processors.pii.engine import PiiAnalyzer

    cont = _continuation()
    street = "I live at 12 Main Street"
    for tail in (", A" + "." * 40 + "#", ", A" + "-A" * 3000 + "#", ", A" + "(" * 3000 + "#",
                 ", A" + ".b" * 3000 + "#", ", " + "Ab " * 6000 + "#"):
        cont.match(street + tail, len(street))
    n = 20_000
    texts = [(unit * n)[:n] for unit in ("Flat 1, ", "name: a b c d e ", " -a", "Ab-")]
    texts.append("I live at 12 Main Street, A" + "." * 19_000 + "#")
    out = PiiAnalyzer().analyze(texts)
    assert len(out) == len(texts)
    print("done")
""")


def test_adversarial_texts_finish() -> None:
    try:
        done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                              timeout=240)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("the analyzer did not finish 10 adversarial texts in 240 s") from exc
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("done")
