"""User CSVs that never mislead (issue 24 item 2): each case that pandas would silently turn into a different
table (a stray token one-hot encoding a numeric column, a renamed duplicate, a saved index, a wrong separator) or a
different task (True/False or integer labels trained as a regressor) is an error naming the file and the column,
or the right behaviour; and the ``dataset`` parameter rule runs the same file checks before a kernel starts.
"""

import re

import numpy as np
import pandas as pd
import pytest

from landscape.infra.validation import RuleViolation, parse_rule
from landscape.nets import data

N = 30


def _write(tmp_path, df, name="user.csv", **kwargs):
    path = tmp_path / name
    df.to_csv(path, index=False, **kwargs)
    return path


def _table(**columns):
    rng = np.random.default_rng(0)
    base = {"a": rng.normal(size=N), "b": rng.normal(size=N), "y": rng.normal(size=N)}
    return pd.DataFrame({**base, **columns})


def _refused(path, match, **kwargs):
    """Load and the dataset rule both refuse, with the same one-line message."""
    with pytest.raises(ValueError, match=match) as err:
        data.load(path, target="y", **kwargs)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    with pytest.raises(RuleViolation, match=match) as rule_err:
        parse_rule("dataset").check(str(path))
    assert "\n" not in str(rule_err.value)
    return str(err.value)


@pytest.mark.parametrize("token", ["?", "NA?", "n/a?"])
def test_a_stray_token_in_a_numeric_column_names_file_column_row_and_token(tmp_path, token):
    hp = [f"{v:.3f}" for v in np.linspace(40, 200, N)]
    hp[6] = token  # data row 7 (row 1 is the first below the header)
    before = _write(tmp_path, _table(hp=[f"{v:.3f}" for v in np.linspace(40, 200, N)]), "clean.csv")
    assert data.load(before, target="y").n_in == 3  # the clean column is one numeric input
    msg = _refused(_write(tmp_path, _table(hp=hp)), "column 'hp' is numeric except for the token")
    assert f"{token!r} in data row 7" in msg


def test_several_stray_tokens_are_counted_and_listed(tmp_path):
    hp = [str(v) for v in range(100, 100 + N)]
    hp[2], hp[9], hp[20] = "?", "NA?", "?"
    msg = _refused(_write(tmp_path, _table(hp=hp)), r"'\?' in data row 3 and 2 more rows")
    assert "'NA?'" in msg


def test_a_text_column_with_a_few_numbers_stays_categorical(tmp_path):
    kind = ["low", "high", "3"] * (N // 3)  # mostly text: a category "3" among words, one-hot as before
    ds = data.load(_write(tmp_path, _table(kind=kind)), target="y")
    assert ds.n_in == 2 + 3


@pytest.mark.parametrize("values, classes", [
    ([True, False] * (N // 2), ("False", "True")),
    ([0, 1] * (N // 2), ("0", "1")),
    ([2.5, -1.0] * (N // 2), ("-1.0", "2.5")),
])
def test_true_false_or_two_valued_targets_train_a_classifier(tmp_path, values, classes):
    ds = data.load(_write(tmp_path, _table(y=values)), target="y")
    assert ds.task == "classification" and ds.loss == "cce" and ds.n_classes == 2 and ds.class_names == classes
    assert ds.y_train.dtype == np.int64 and set(ds.y_train) == {0, 1}
    # stated explicitly, a numeric two-valued target may still be a regression target
    if not isinstance(values[0], bool):
        assert data.load(tmp_path / "user.csv", target="y", task="regression").task == "regression"


def test_integer_labels_without_task_are_refused_with_one_line(tmp_path):
    path = _write(tmp_path, _table(y=np.arange(N) % 3 + 1))
    with pytest.raises(ValueError, match=r"^task: target column 'y' of .*user\.csv holds 3 distinct integers: "
                                         r"state .*task='classification' or task='regression'") as err:
        data.load(path, target="y")
    assert "\n" not in str(err.value)
    assert data.load(path, target="y", task="classification").n_classes == 3
    assert data.load(path, target="y", task="regression").task == "regression"
    # non-integer numbers are a regression target as before
    assert data.load(_write(tmp_path, _table(), "float.csv"), target="y").task == "regression"


def test_duplicate_column_names_are_an_error_not_renamed(tmp_path):
    path = tmp_path / "dup.csv"
    rows = "\n".join(f"{i * 0.5},{i * 0.25},{i % 2 * 1.5},{i * 1.5}" for i in range(N))
    path.write_text("a,x,y,x\n" + rows + "\n")
    assert "x.1" in pd.read_csv(path).columns  # what pandas alone would do
    _refused(path, r"dup\.csv: duplicate column name 'x' \(columns 2 and 4\); .*'x\.1'")


def test_a_saved_pandas_index_is_refused(tmp_path):
    path = tmp_path / "indexed.csv"
    _table().to_csv(path)  # index=True: the header starts with an empty name
    assert pd.read_csv(path).columns[0] == "Unnamed: 0"
    _refused(path, r"indexed\.csv: the first column has no name .*'Unnamed: 0'.*index=False")
    resaved = tmp_path / "resaved.csv"
    pd.read_csv(path).to_csv(resaved, index=False)  # read back and saved again: the column is now named so
    _refused(resaved, r"resaved\.csv: the first column has no name")
    blank = tmp_path / "blank.csv"
    blank.write_text("a,,y\n" + "\n".join(f"{i * 0.1},{i * 0.2},{i * 0.3}" for i in range(N)) + "\n")
    _refused(blank, r"blank\.csv: column 2 has no name")


@pytest.mark.parametrize("start", [0, 1])
def test_a_row_number_column_is_refused(tmp_path, start):
    path = _write(tmp_path, _table(id=np.arange(start, start + N)))
    _refused(path, rf"column 'id' holds the row numbers {start}, {start + 1}, \.\.\., {start + N - 1} \(an index or "
                   rf"an id\)")


def test_monotone_integers_that_are_not_row_numbers_are_data(tmp_path):
    years = np.arange(1950, 1950 + N)  # a real measurement, even though sorted
    shuffled = np.random.default_rng(1).permutation(N)  # row numbers out of order: not an index in file order
    ds = data.load(_write(tmp_path, _table(year=years, code=shuffled)), target="y")
    assert ds.n_in == 4
    short = pd.DataFrame({"i": np.arange(5), "y": [0.1, 0.5, 0.2, 0.9, 0.3]})
    assert parse_rule("dataset").check(str(_write(tmp_path, short, "short.csv")))  # fewer than MIN_ROWS rows


@pytest.mark.parametrize("sep, named", [(";", "';'"), ("\t", "a tab")])
def test_a_one_column_header_with_another_separator_gets_a_hint(tmp_path, sep, named):
    path = _write(tmp_path, _table(), "semi.csv", sep=sep)
    header = re.escape(repr(f"a{sep}b{sep}y"))
    msg = _refused(path, rf"semi\.csv: the header is one column named {header}: the file seems to be separated by "
                         rf"{named}")
    assert f"sep={sep!r}" in msg


def test_missing_values_and_inf_are_refused_by_the_rule_too(tmp_path):
    a = np.linspace(0, 1, N)
    a[3] = np.nan
    _refused(_write(tmp_path, _table(a=a)), r"missing values \(NaN\) in columns \{'a': 1\}")
    b = np.linspace(0, 1, N)
    b[4] = np.inf
    _refused(_write(tmp_path, _table(b=b)), r"column 'b' holds 1 inf values")


def test_the_rule_checks_the_current_content(tmp_path):
    """The rule's check is cached per file version: an edited file is checked again."""
    path = _write(tmp_path, _table())
    rule = parse_rule("dataset")
    assert rule.check(str(path)) == str(path)
    hp = [str(v) for v in range(N)]
    hp[5] = "?"
    _table(hp=hp).to_csv(path, index=False)
    with pytest.raises(RuleViolation, match=r"'\?' in data row 6"):
        rule.check(str(path))


def test_cli_run_with_a_bad_csv_exits_2_with_one_line_and_writes_nothing(tmp_root, tmp_path, capsys, monkeypatch):
    from landscape.__main__ import main

    monkeypatch.chdir(tmp_path)
    hp = [str(v) for v in range(100, 100 + N)]
    hp[11] = "?"
    _table(hp=hp).to_csv("bad.csv", index=False)
    assert main(["run", "01_trajectories", "-p", "dataset=bad.csv", "-p", "target=y", "-p",
                 "compare_dataset="]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "parameter 'dataset' (-p)" in err and "bad.csv: column 'hp'" in err and "'?' in data row 12" in err
    assert not (tmp_root / "book").exists() and not (tmp_root / "data" / "results").exists()
