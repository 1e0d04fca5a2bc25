"""Runs that never mislead (issue 24 item 4) and the command line (issue 25 item 5), through a tiny chapter.

- "up to date" only when the published tables are there as the stamp recorded them;
- a folder the run cannot write fails before anything runs (one line, exit 2, nothing lost);
- ``clean --label NAME``; removing the paper run asks first (or needs ``--yes``; without a terminal it refuses);
- no "TCP without encryption" warning from the kernel; Ctrl-C prints one line (exit 130);
- ``make install`` says what it does; ``--help`` is plain text with help for every argument; ``--version``;
  ``run --jobs``; ``list CHAPTER``; ``-q``/``-v`` through :mod:`logging`; the runner injects ``chapter``.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from landscape import runner
from landscape.__main__ import build_parser, main
from landscape.infra import paths

TINY = '''---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---

# A tiny chapter

```{code-cell} ipython3
:tags: [parameters]

profile = "paper"  # run label, set by the runner
n = 3  # int in [1, 10] | rows to keep
sleep = 0  # int in [0, 600] | seconds to wait first
```

```{code-cell} ipython3
import os
import time

import pandas as pd
from landscape.infra.results import save_table

time.sleep(sleep)
save_table(pd.DataFrame({"x": range(n)}), chapter, profile, "rows")
save_table(pd.DataFrame({"chapter": [chapter], "jobs": [os.environ.get("LANDSCAPE_JOBS", "unset")]}), chapter,
           profile, "run")
```
'''


@pytest.fixture
def tiny(tmp_root):
    (tmp_root / "notebooks" / "50_tiny.md").write_text(TINY)
    return tmp_root


def _run(*args):
    return main(["run", "50_tiny", *args])


def _said(capsys):
    out = capsys.readouterr()
    return out.out, out.err


# ---- "up to date" means the published tables are there -----------------------------------------------------------

def test_up_to_date_needs_the_published_tables(tiny, capsys):
    assert _run("--label", "L") == 0
    rows = tiny / "data" / "results" / "L" / "50_tiny" / "rows.csv"
    assert rows.exists()
    stamp = (tiny / "book" / "_executed" / "L" / "50_tiny.stamp.json").read_text()
    assert '"rows.csv"' in stamp and '"run.csv"' in stamp  # the stamp lists the tables by content
    capsys.readouterr()
    assert _run("--label", "L") == 0
    assert "50_tiny (L): up to date" in _said(capsys)[0]
    # before: after `clean --results` the run said "up to date" and printed a folder that did not exist
    assert main(["clean", "--results"]) == 0 and not rows.exists()
    capsys.readouterr()
    assert _run("--label", "L") == 0
    out = _said(capsys)[0]
    assert "50_tiny (L): executing" in out and "up to date" not in out and rows.exists()
    assert "results (CSV):     data/results/L/50_tiny/" in out
    rows.write_text("x\n7\n")  # a published table changed by hand: not the run the stamp describes
    capsys.readouterr()
    assert _run("--label", "L") == 0
    assert "executing" in _said(capsys)[0] and pd.read_csv(rows).x.tolist() == [0, 1, 2]
    (tiny / "data" / "results" / "L" / "50_tiny" / "run.csv").unlink()  # one table missing
    lines = []
    runner.execute("50_tiny", "paper", label="L", progress=False, log=lines.append)
    assert lines[0].startswith("50_tiny (L): executing")


# ---- a folder that cannot be written fails first ------------------------------------------------------------------

def _unprivileged(cmd):
    """``cmd`` run so that file permissions apply: as is for a normal user; for root without the capabilities
    that override them (setpriv), else the case cannot be simulated here.
    """
    if os.geteuid() != 0:
        return cmd
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be simulated")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", *cmd]


@pytest.mark.parametrize("read_only", ["data/results/L/50_tiny", "data/results", "book/_executed"])
def test_a_read_only_folder_fails_before_running_and_loses_nothing(tiny, read_only):
    assert _run("--label", "L", "-p", "n=2") == 0
    published = {p: p.read_bytes() for p in sorted(tiny.glob("data/results/L/**/*")) + sorted(
        tiny.glob("book/_executed/**/*")) if p.is_file()}
    if read_only == "data/results":  # a label never run before: its folder would be created there
        label = "M"
    else:
        label = "L"
    folder = tiny / read_only
    folder.chmod(0o555)
    try:
        cmd = _unprivileged([sys.executable, "-m", "landscape", "run", "50_tiny", "--label", label, "-p", "n=4"])
        env = dict(os.environ, LANDSCAPE_ROOT=str(tiny), PYTHONPATH=str(paths.root() / "lib"))
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    finally:
        folder.chmod(0o755)
    # before: the whole chapter ran, then a PermissionError traceback; the stamp was gone and the notebook lost
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: cannot write "), done.stderr
    assert "nothing was run" in done.stderr and "Traceback" not in done.stderr
    assert "executing" not in done.stdout  # no kernel was started
    now = {p: p.read_bytes() for p in sorted(tiny.glob("data/results/L/**/*")) + sorted(
        tiny.glob("book/_executed/**/*")) if p.is_file()}
    assert now == published


def test_a_publish_that_fails_keeps_the_executed_notebook(tiny, capsys, monkeypatch):
    """A folder that turns read-only while the chapter runs: one line (exit 1) naming where the notebook is."""
    import importlib

    execute_module = importlib.import_module("landscape.runner.execute")  # the module, not the function

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "data/results/L/50_tiny")

    monkeypatch.setattr(execute_module, "_publish", refuse)
    assert _run("--label", "L") == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: 50_tiny (L) ran but could not be published (") and "Permission denied" in err
    assert err.endswith("the executed notebook is book/_executed/_failed/L/50_tiny.ipynb")
    assert (tiny / "book" / "_executed" / "_failed" / "L" / "50_tiny.ipynb").exists()
    assert not (tiny / "book" / "_executed" / "_staging").exists()


# ---- clean ----------------------------------------------------------------------------------------------------------

def _two_runs(tiny):
    for label in ("A", "B"):
        assert _run("--label", label) == 0


def test_clean_one_label(tiny, capsys):
    _two_runs(tiny)
    (tiny / "book" / "_executed" / "_failed" / "A").mkdir(parents=True)
    assert main(["clean", "--label", "A"]) == 0  # results and executed notebooks of A only
    for base in ("data/results", "book/_executed", "book/_executed/_failed"):
        assert not (tiny / base / "A").exists(), base
    assert (tiny / "data" / "results" / "B" / "50_tiny" / "rows.csv").exists()
    assert (tiny / "book" / "_executed" / "B" / "50_tiny.ipynb").exists()
    assert main(["clean", "--results", "--label", "B"]) == 0  # only B's tables
    assert not (tiny / "data" / "results" / "B").exists() and (tiny / "book" / "_executed" / "B").exists()
    capsys.readouterr()
    assert main(["clean", "--cache", "--label", "B"]) == 2
    assert "the cache is shared by every label" in capsys.readouterr().err
    assert main(["clean", "--label", "../x"]) == 2


def _paper_run(tiny):
    assert _run() == 0  # label paper
    return tiny / "data" / "results" / "paper" / "50_tiny", tiny / "book" / "_executed" / "paper"


def test_clean_asks_before_removing_the_paper_run(tiny, capsys, monkeypatch):
    results, executed = _paper_run(tiny)
    capsys.readouterr()
    # not a terminal and no --yes: refuses in one line, removes nothing (before: removed without asking)
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    assert main(["clean", "--results"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refusing without --yes" in err and "data/results/" in err
    assert main(["clean"]) == 2 and main(["clean", "--label", "paper"]) == 2
    assert results.exists() and executed.exists()
    # a terminal: the answer decides

    class Terminal:
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["clean", "--results"]) == 1 and results.exists()
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert main(["clean", "--results"]) == 0 and not results.exists()
    # --yes does not ask
    monkeypatch.setattr("builtins.input", lambda prompt: pytest.fail("asked despite --yes"))
    assert main(["clean", "--executed", "--yes"]) == 0 and not executed.exists()


def test_clean_of_other_labels_does_not_ask(tiny, monkeypatch):
    assert _run("--label", "A") == 0
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    assert main(["clean", "--results"]) == 0 and not (tiny / "data" / "results").exists()


# ---- the kernel's chatter and Ctrl-C --------------------------------------------------------------------------------

def test_no_tcp_encryption_warning(tiny, capfd):
    assert _run("--label", "L", "--force") == 0
    err = capfd.readouterr().err  # fd 2, which the kernel process inherits
    assert "without encryption" not in err  # before: "[IPKernelApp] WARNING | Kernel is running over TCP ..."


def _without_progress(text: str) -> list[str]:
    """The lines of ``text`` that are not Papermill's progress bar (updated in place with carriage returns)."""
    return [line for line in text.replace("\r", "\n").splitlines() if line.strip() and "cell/s" not in line
            and not line.startswith("Executing")]


@pytest.mark.slow
def test_ctrl_c_prints_one_line(tiny):
    env = dict(os.environ, LANDSCAPE_ROOT=str(tiny), PYTHONPATH=str(paths.root() / "lib"))
    cmd = [sys.executable, "-m", "landscape", "run", "50_tiny", "--label", "L", "-p", "sleep=60"]
    # Ctrl-C in a terminal: SIGINT to the foreground process group (the kernel runs in its own session)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    staging = tiny / "book" / "_executed" / "_staging"
    deadline = time.time() + 90
    while not any(staging.glob("*/notebook.ipynb")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)  # Papermill writes the notebook as soon as the kernel runs the first cell
    time.sleep(2)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    lines = _without_progress(err)
    # before: two tracebacks (the kernel's ZMQError and this process's KeyboardInterrupt), exit status -2
    assert proc.returncode == 130, err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: 50_tiny (L) interrupted; nothing was published; the partial notebook is "
                               "book/_executed/_failed/L/50_tiny.ipynb")
    assert (tiny / "book" / "_executed" / "_failed" / "L" / "50_tiny.ipynb").exists()
    assert not (tiny / "data" / "results" / "L").exists() and not staging.exists()


# ---- make install ---------------------------------------------------------------------------------------------------

def test_make_install_says_what_it_does():
    if shutil.which("make") is None:
        pytest.skip("no make")
    # --no-print-directory: under `make test` (MAKELEVEL set) make would print "make[1]: Entering directory ..." first
    done = subprocess.run(["make", "--no-print-directory", "-n", "-W", "pyproject.toml", "install"], cwd=paths.root(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    pips = [i for i, line in enumerate(lines) if " -m pip install" in line]
    assert len(pips) >= 2
    for i in pips:
        assert "--quiet" not in lines[i] and not re.search(r"\s-q\b", lines[i]), lines[i]  # before: --quiet
        assert lines[i - 1].startswith("echo \"[install"), lines[i - 1]  # a line per step says what comes
    assert lines[0].startswith("echo \"[install 1/")


# ---- the command line -----------------------------------------------------------------------------------------------

def test_version(capsys):
    import landscape

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"python -m landscape {landscape.__version__}"


def _actions(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from ((f"{name} {a}", b) for a, b in _actions(sub))
        else:
            yield "/".join(action.option_strings) or action.dest, action


def test_help_is_plain_text_and_every_argument_has_help(capsys):
    parser = build_parser()
    for name, action in _actions(parser):
        assert action.help and action.help.strip(), f"{name} has no help"
    for argv in (["--help"], ["run", "--help"], ["list", "--help"], ["clean", "--help"], ["sweep", "--help"],
                 ["book", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        text = capsys.readouterr().out
        assert "``" not in text and "::" not in text and ":func:" not in text, argv  # before: the reST docstring
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = re.sub(r"\s+", " ", capsys.readouterr().out)
    assert "one of: paper, quick" in text and "01_trajectories, 02_diffusion_maps" in text and "--jobs N" in text


def test_list_one_chapter(capsys):
    assert main(["list", "01_trajectories"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("01_trajectories (notebooks/01_trajectories.md)\n")
    assert "  epochs = 400\n      allowed: int in [1, 100000]\n      meaning: epochs of the first network\n" \
           "      quick: 40\n" in out
    assert "02_diffusion_maps" not in out and "profile =" not in out
    assert main(["list", "01_nope"]) == 2
    assert "unknown chapter '01_nope'" in capsys.readouterr().err


def test_run_jobs_reaches_the_kernel_and_is_checked(tiny, capsys):
    assert _run("--label", "J", "--jobs", "3") == 0
    run = pd.read_csv(tiny / "data" / "results" / "J" / "50_tiny" / "run.csv")
    assert run.jobs.tolist() == [3] and run.chapter.tolist() == ["50_tiny"]  # chapter: injected by the runner
    capsys.readouterr()
    assert _run("--label", "K", "--jobs", "many") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--jobs" in err and not (tiny / "data" / "results" / "K").exists()


def test_chapter_is_set_by_the_runner(tiny, capsys):
    assert _run("-p", "chapter=x") == 2
    assert "parameter 'chapter' is set by the runner" in capsys.readouterr().err
    assert "chapter" in runner.RESERVED


def test_quiet_and_verbose(tiny, capsys):
    assert main(["-q", "run", "50_tiny", "--label", "Q"]) == 0
    out, err = _said(capsys)
    assert out == "" and err == ""  # no progress lines, no progress bar
    assert main(["run", "50_tiny", "--label", "Q", "-v", "--force"]) == 0
    out, _ = _said(capsys)
    assert "[landscape] 50_tiny (Q): executing" in out and "fingerprint" in out  # -v: the details
    assert main(["run", "50_tiny", "--label", "Q"]) == 0
    out, _ = _said(capsys)
    assert out.splitlines()[0] == "[landscape] 50_tiny (Q): up to date" and "fingerprint" not in out


def test_the_runner_logs_through_logging(tiny, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="landscape"):
        logging.getLogger("landscape").propagate = True  # the CLI's handler may have turned it off
        runner.execute("50_tiny", "paper", label="G", progress=False)
    assert {r.name for r in caplog.records} == {"landscape.runner"}
    said = [r.getMessage() for r in caplog.records]
    assert said[0].startswith("50_tiny (G): executing") and said[-1].startswith("50_tiny (G): done in ")


@pytest.mark.slow
def test_ctrl_c_during_a_parallel_book_prints_one_line(tmp_path):
    root = tmp_path / "r"
    (root / "notebooks" / "profiles").mkdir(parents=True)
    for k in (1, 2):
        (root / "notebooks" / f"0{k}_c{k}.md").write_text(TINY.replace("sleep = 0 ", "sleep = 60 "))
    (root / "book" / "_static" / "mathjax").mkdir(parents=True)
    (root / "book" / "_static" / "mathjax" / "tex-mml-chtml.js").write_text("")  # no download in a test
    (root / "lib").symlink_to(paths.root() / "lib")
    env = dict(os.environ, LANDSCAPE_ROOT=str(root), PYTHONPATH=str(paths.root() / "lib"))
    proc = subprocess.Popen([sys.executable, "-m", "landscape", "book", "--jobs", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    staging = root / "book" / "_executed" / "_staging"
    deadline = time.time() + 120
    while len(list(staging.glob("*/notebook.ipynb"))) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(2)
    os.killpg(proc.pid, signal.SIGINT)  # the CLI and its worker processes, as Ctrl-C does
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert _without_progress(err) == ["error: interrupted; the chapters in progress published nothing (partial "
                                      "notebooks in book/_executed/_failed/paper/)"], err
    assert sorted(p.name for p in (root / "book" / "_executed" / "_failed" / "paper").iterdir()) == [
        "01_c1.ipynb", "02_c2.ipynb"]
    assert not staging.exists() and not (root / "data" / "results").exists()
