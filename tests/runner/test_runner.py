"""The runner's contract: chapters and parameters are discovered from the notebooks, profiles override them,
bad names and types fail at once with the valid choices listed.
"""

import json

import pytest

from landscape import runner
from landscape.__main__ import main


def test_chapters_and_parameters():
    chapters = runner.chapters()
    assert "01_trajectories" in chapters and list(chapters)[-1] == runner.REPORT
    params = runner.read_parameters("01_trajectories")
    assert params["epochs"]["default"] == 400 and params["epochs"]["type"] == "int"
    assert params["hidden"]["default"] == [24, 14]
    assert params["profile"]["default"] == "paper"


def test_every_chapter_has_a_quick_profile_section_that_is_valid():
    quick = runner.load_profile("quick")  # validates every name and type
    for chapter in runner.chapters():
        if chapter != runner.REPORT:
            assert chapter in quick, f"{chapter} has no section in notebooks/profiles/quick.yaml"
    smoke = runner.load_profile("smoke")  # the test suite's profile: quick's values, then its own
    assert set(smoke) == set(quick) and smoke["01_trajectories"]["epochs"] < quick["01_trajectories"]["epochs"]


def test_profile_override_and_cli_override():
    assert runner.resolve("01_trajectories")["epochs"] == 400
    assert runner.resolve("01_trajectories", "quick")["epochs"] == 40
    resolved = runner.resolve("01_trajectories", "quick", {"epochs": 7, "lr": 1})
    assert resolved["epochs"] == 7 and resolved["lr"] == 1.0 and isinstance(resolved["lr"], float)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(runner.ChapterError, match="chapters are: 01_trajectories"):
        runner.resolve("01_nope")
    with pytest.raises(runner.ChapterError, match=r"unknown parameter 'epoch'.*epochs"):
        runner.resolve("01_trajectories", overrides={"epoch": 3})
    with pytest.raises(runner.ChapterError, match="profiles are: paper, quick"):
        runner.resolve("01_trajectories", "fast")
    with pytest.raises(runner.ChapterError, match="set by the runner"):
        runner.resolve("01_trajectories", overrides={"profile": "x"})


@pytest.mark.parametrize("name, value", [("epochs", 2.5), ("epochs", "ten"), ("lr", "fast"), ("hidden", 3),
                                         ("epochs", True)])
def test_wrong_type_fails(name, value):
    with pytest.raises(runner.ChapterError, match=f"parameter '{name}' \\(-p\\): .* is not allowed; allowed: "):
        runner.resolve("01_trajectories", overrides={name: value})


def test_parse_assignment():
    assert runner.parse_assignment("epochs=10") == ("epochs", 10)
    assert runner.parse_assignment("hidden=[8, 8]") == ("hidden", [8, 8])
    assert runner.parse_assignment("dataset=path/to/my.csv") == ("dataset", "path/to/my.csv")
    assert runner.parse_assignment("flag=true") == ("flag", True)
    with pytest.raises(runner.ChapterError, match="name=value"):
        runner.parse_assignment("epochs")


def test_run_labels_keep_custom_runs_apart():
    assert runner.run_label("quick", {}) == "quick"
    label = runner.run_label("paper", {"dataset": "my.csv"})
    assert label.startswith("paper+") and label != runner.run_label("paper", {"dataset": "other.csv"})


def test_bad_profile_file_is_caught(tmp_root):
    (tmp_root / "notebooks" / "profiles" / "broken.yaml").write_text("01_trajectories:\n  epocs: 3\n")
    with pytest.raises(runner.ChapterError, match="unknown parameter 'epocs'"):
        runner.load_profile("broken")


def test_a_run_reads_only_its_chapters_section_of_a_profile(tmp_root):
    profiles = tmp_root / "notebooks" / "profiles"
    (profiles / "base.yaml").write_text("02_diffusion_maps:\n  n_seeds: 0\n")  # bad, but not chapter 01's
    (profiles / "mixed.yaml").write_text("inherit: base\n01_trajectories:\n  epochs: 3\n")
    assert runner.load_profile("mixed", chapter="01_trajectories") == {"01_trajectories": {"epochs": 3}}
    assert runner.resolve("01_trajectories", "mixed")["epochs"] == 3
    with pytest.raises(runner.ChapterError, match="parameter 'n_seeds' .*0 is not allowed"):
        runner.load_profile("mixed")  # the whole profile (book, list) still checks every section
    with pytest.raises(runner.ChapterError, match="parameter 'n_seeds'"):
        runner.resolve("02_diffusion_maps", "mixed")
    (profiles / "mixed.yaml").write_text("01_trajectories:\n  epochs: 3\n01_nope:\n  epochs: 3\n")
    with pytest.raises(runner.ChapterError, match="unknown chapter '01_nope'"):
        runner.load_profile("mixed", chapter="01_trajectories")  # a section must still name a chapter


def test_a_profile_inherits_another_parameter_by_parameter(tmp_root):
    profiles = tmp_root / "notebooks" / "profiles"
    (profiles / "base.yaml").write_text("01_trajectories:\n  epochs: 40\n  compare_epochs: 15\n")
    (profiles / "child.yaml").write_text("inherit: base\n01_trajectories:\n  epochs: 3\n")
    assert runner.load_profile("child")["01_trajectories"] == {"epochs": 3, "compare_epochs": 15}
    assert runner.load_profile("base")["01_trajectories"] == {"epochs": 40, "compare_epochs": 15}
    (profiles / "base.yaml").write_text("inherit: child\n")
    with pytest.raises(runner.ChapterError, match="no cycle"):
        runner.load_profile("child")
    (profiles / "child.yaml").write_text("inherit: paper\n")
    with pytest.raises(runner.ChapterError, match="inherit must name another profile"):
        runner.load_profile("child")


def test_cli_errors_exit_2(capsys):
    assert main(["run", "01_trajectories", "-p", "epoch=3"]) == 2
    assert "unknown parameter 'epoch'" in capsys.readouterr().err
    assert main(["list"]) == 0
    assert "epochs = 400 (int in [1, 100000])  # epochs of the first network" in capsys.readouterr().out


def test_fingerprint_tracks_source_params_and_library(tmp_root):
    p = runner.resolve("01_trajectories", "quick")
    fp = runner.fingerprint("01_trajectories", p)
    assert runner.fingerprint("01_trajectories", dict(p, epochs=41)) != fp
    nb = tmp_root / "notebooks" / "01_trajectories.md"
    nb.write_text(nb.read_text() + "\n")
    assert runner.fingerprint("01_trajectories", p) != fp


def test_check_notebook_finds_missing_glue_and_errors(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("we found {glue:text}`d:.2f` and {glue}`auc`"),
                nbformat.v4.new_code_cell("x")]
    nb.cells[1].outputs = [
        nbformat.v4.new_output("display_data", data={"text/plain": "1"},
                               metadata={"scrapbook": {"name": "d", "mime_prefix": ""}}),
        nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[]),
        nbformat.v4.new_output("display_data", data={"text/plain": "np.float64(93.1)"},
                               metadata={"scrapbook": {"name": "share", "mime_prefix": ""}}),
        nbformat.v4.new_output("display_data", data={"text/plain": "2"},
                               metadata={"scrapbook": {"name": "d", "mime_prefix": ""}}),
    ]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, str(path))
    problems = runner.check_notebook(path)
    assert problems[0] == "cell 1: ValueError: boom"
    assert problems[1].startswith("glue key 'share' holds a numpy scalar")
    assert problems[2:] == ["cell 1: glue key 'd' is glued twice (a glue inside a loop?)",
                            "glue key 'auc' is used in the prose but never glued"]
    json.loads(path.read_text())
    # a role without its closing backtick swallows the prose up to the next role: myst-nb then looks for a key
    # "d:.3g}); its level ... {glue" and the -W build fails; the check says so before Sphinx runs
    nb.cells[0] = nbformat.v4.new_markdown_cell("first {glue:text}`d:.3g}); then {glue:text}`d:.2f` more")
    nbformat.write(nb, str(path))
    assert any("missing closing backtick" in p for p in runner.check_notebook(path))


def test_fingerprint_follows_only_the_library_code_a_chapter_imports(tmp_root):
    """On the real chapter 01 and the real library (where its files are, whatever the layout): the Hessian
    package is not a dependency, the model file is. The general rule is tested on a fake tree in
    test_fingerprint_files.py.
    """
    import shutil
    from pathlib import Path

    import landscape
    from landscape.curvature import hessian
    from landscape.nets import models, recording

    real = Path(landscape.__file__).parent
    (tmp_root / "lib").unlink()  # a private copy of the library to edit
    shutil.copytree(real.parent, tmp_root / "lib")
    lib = tmp_root / "lib" / "landscape"
    deps = {p.relative_to(lib) for p in runner.library_modules("01_trajectories")}
    model_file = Path(models.__file__).relative_to(real)
    hessian_files = {p.relative_to(real) for p in Path(hessian.__file__).parent.rglob("*.py")}
    assert {model_file, Path(recording.__file__).relative_to(real), Path("__init__.py")} <= deps
    assert not deps & hessian_files
    p = runner.resolve("01_trajectories", "quick")
    fp = runner.fingerprint("01_trajectories", p)
    for rel in hessian_files:
        (lib / rel).write_text((lib / rel).read_text() + "\n# unrelated edit\n")
    assert runner.fingerprint("01_trajectories", p) == fp
    (lib / model_file).write_text((lib / model_file).read_text() + "\n# edit\n")
    assert runner.fingerprint("01_trajectories", p) != fp


def test_verdict_rule():
    from landscape.infra.results import verdict

    assert verdict(17, 17) == "reproduced"
    assert verdict(17, 20, partly=0.25, relative=True) == "partly"  # 3/17 = 0.18
    assert verdict(17, 22, partly=0.25, relative=True) == "not reproduced"  # 5/17 = 0.29
    assert verdict(0.0686, 0.0651, tol=0.03) == "reproduced"
    assert verdict(0.0686, 0.378, tol=0.03, partly=0.3) == "not reproduced"
    with pytest.raises(ValueError, match="partly"):
        verdict(1, 1, tol=0.5, partly=0.1)
    with pytest.raises(ValueError, match="relative"):
        verdict(0, 1, tol=0.1, relative=True)


def test_claims_check_reads_the_source_value_and_tolerances(tmp_path, monkeypatch):
    from landscape.infra import sources
    from landscape.infra.results import Claims

    monkeypatch.setenv("LANDSCAPE_ROOT", str(tmp_path))
    (tmp_path / "data" / "sources").mkdir(parents=True)
    (tmp_path / "data" / "sources" / "900.csv").write_text(
        "key,claim,kind,value,section,tol,partly,relative,scale_dependent,note\n"
        "d,intrinsic dimension,value,17,Table 2,0,0.25,true,true,\n"
        "falls,the trace falls,qualitative,true,Fig. 2,,,false,,\n")
    verdicts = []
    for measured, reading in [(17, None), (20, None), (22, None), (17, "rcond 6e-4")]:
        c = Claims("01_x", "quick")
        verdicts.append(c.check("900", "d", measured, reading=reading))
    assert verdicts == ["reproduced", "partly", "not reproduced", "reproduced under reading"]  # 3/17, 5/17
    assert c.check("900", "falls", True) == "reproduced"
    df = c.frame()
    assert df.claim[0] == "intrinsic dimension (Table 2)" and df.source[0] == "17" and df.kind[0] == "value"
    assert df.reading[0] == "rcond 6e-4" and df.scale_dependent[0] == "yes" and df.scale_dependent[1] == ""
    assert Claims("01_x", "quick").check("900", "falls", False) == "not reproduced"
    with pytest.raises(ValueError, match="key 'nope'"):
        sources.source_value("900", "nope")
    with pytest.raises(ValueError, match="source must be a three-digit id"):
        sources.source_value("9", "d")


def test_rules_are_read_statically_with_their_meaning():
    params = runner.read_parameters("01_trajectories")
    assert params["batch_size"]["allowed"] == "int >= 1"  # at most N: checked when the data is loaded
    assert params["batch_size"]["help"].startswith("minibatch size n")
    assert params["target"]["allowed"] == "str | None" and params["target"]["help"] == "target column of a CSV"
    assert params["profile"]["rule"] is None and params["profile"]["allowed"] == "str"
    for chapter in runner.chapters():  # every parameter of the book's chapters states its allowed values
        if chapter in ("01_trajectories", "02_diffusion_maps", "03_hessian_directions"):
            missing = [n for n, s in runner.read_parameters(chapter).items()
                       if s["rule"] is None and n not in runner.RESERVED]
            assert missing == [], f"{chapter}: no rule for {missing}"


def _edit_parameter(tmp_root, old, new):
    nb = tmp_root / "notebooks" / "01_trajectories.md"
    text = nb.read_text()
    assert old in text
    nb.write_text(text.replace(old, new))


def test_a_default_outside_its_rule_or_a_rule_typo_is_a_chapter_error(tmp_root):
    _edit_parameter(tmp_root, "batch_size = 20  # int >= 1 |", "batch_size = 0  # int >= 1 |")
    with pytest.raises(runner.ChapterError, match=r"parameter 'batch_size': .*0 is not allowed"):
        runner.read_parameters("01_trajectories")
    _edit_parameter(tmp_root, "batch_size = 0  # int >= 1 |", "batch_size = 20  # int => 1 |")
    with pytest.raises(runner.ChapterError, match="not a parameter rule"):
        runner.read_parameters("01_trajectories")


def test_lines_without_a_rule_keep_the_type_check(tmp_root):
    _edit_parameter(tmp_root, "epochs = 400  # int in [1, 100000] | epochs", "epochs = 400  # epochs")
    assert runner.resolve("01_trajectories", overrides={"epochs": 0})["epochs"] == 0  # no rule: any int
    with pytest.raises(runner.ChapterError, match=r"parameter 'epochs' expects int \(default 400\), got 2.5"):
        runner.resolve("01_trajectories", overrides={"epochs": 2.5})


def test_dataset_paths_resolve_against_the_callers_directory(tmp_root, tmp_path, monkeypatch):
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    (elsewhere / "mine.csv").write_text("a,y\n1,2\n")
    monkeypatch.chdir(elsewhere)
    resolved = runner.resolve("01_trajectories", overrides={"dataset": "mine.csv", "compare_dataset": ""})
    assert resolved["dataset"] == str(elsewhere / "mine.csv") and resolved["compare_dataset"] == ""
    files = runner.data_files("01_trajectories", resolved)
    assert files[0] == elsewhere / "mine.csv" and files[-1].name == "SHA256SUMS"


@pytest.mark.parametrize("label", ["my run", "../x", "..", ".hidden", "_failed", "a/b", ""])
def test_labels_are_plain_names(label):
    with pytest.raises(runner.ChapterError, match="label must be a plain name"):
        runner.run_label("paper", {}, label)
    assert runner.run_label("paper", {}, "my-run_2.b+c") == "my-run_2.b+c"
