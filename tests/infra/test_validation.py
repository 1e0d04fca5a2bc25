"""landscape.infra.validation: the scalar checks (against scikit-learn's semantics) and the parameter-rule grammar,
each alternative with values on both sides of its boundaries.
"""

import numpy as np
import pytest

from landscape.infra.validation import (
    ParameterTypeError,
    RuleSyntaxError,
    RuleViolation,
    check_choice,
    check_finite,
    check_scalar,
    parse_rule,
    split_comment,
)


@pytest.mark.parametrize("x, kwargs, ok", [
    (1, dict(min_val=1), True), (0, dict(min_val=1), False),
    (1, dict(min_val=1, include_boundaries="right"), False), (2, dict(max_val=2, include_boundaries="left"), False),
    (2, dict(max_val=2), True), (np.int64(3), dict(min_val=1), True),
])
def test_check_scalar_bounds(x, kwargs, ok):
    if ok:
        assert check_scalar(x, "n", int, **kwargs) == x
    else:
        with pytest.raises(ValueError, match="^n == "):
            check_scalar(x, "n", int, **kwargs)


@pytest.mark.parametrize("x, target", [(True, int), (2.0, int), ("3", float), (None, int)])
def test_check_scalar_types(x, target):
    with pytest.raises(ParameterTypeError, match="must be an instance of"):
        check_scalar(x, "n", target)
    with pytest.raises(TypeError):  # scikit-learn raises TypeError; ours is also a ValueError
        check_scalar(x, "n", target)


def test_check_scalar_float_takes_ints_and_bad_boundaries_fail():
    assert check_scalar(2, "lr", float, min_val=0, include_boundaries="neither") == 2
    with pytest.raises(ValueError, match="include_boundaries"):
        check_scalar(1, "n", int, include_boundaries="all")


def test_check_finite_and_choice():
    assert check_finite(np.ones(3), "x") is not None
    with pytest.raises(ValueError, match="x must be finite, got 0 NaN and 1 inf"):
        check_finite([1.0, np.inf], "x")
    assert check_choice("cpu", "device", ("cpu", "cuda")) == "cpu"
    with pytest.raises(ValueError, match=r"device must be one of \['cpu', 'cuda'\], got 'tpu'"):
        check_choice("tpu", "device", ("cpu", "cuda"))
    with pytest.raises(ValueError):
        check_choice(True, "flag", (1, 0))  # True == 1, but a bool is not a choice of ints


@pytest.mark.parametrize("rule, good, bad", [
    ("int >= 1", [1, 10**9], [0, -1, 1.5, True, "3", None]),
    ("int in [1, 120]", [1, 120], [0, 121]),
    ("int in (1, 3)", [2], [1, 3]),
    ("float > 0", [1e-12, 3], [0, -1.0, float("nan"), float("inf"), True]),
    ("float in (0, 1]", [1.0, 0.5], [0.0, 1.0000001]),
    ("float in [0, 1)", [0.0], [1.0]),
    ("float <= 2", [-5.0, 2.0], [2.5]),
    ("float < 2", [1.9], [2.0]),
    ("bool", [True, False], [0, "true"]),
    ("str", ["", "x"], [1, None]),
    ("dict", [{}, {1: [2]}], [[], "x"]),
    ('one of "cpu", "cuda"', ["cpu"], ["tpu", "", None]),  # "cuda": test_cuda_choice_needs_a_gpu
    ("one of 1, 2", [1, 2], [1.0, True, 3]),
    ("list[int >= 1]", [[], [1, 2], (3,)], [[0], [1.5], 3, "1"]),
    ('list[one of "a", "b"]', [["a", "b", "a"]], [["c"]]),
    ("list[float > 0]", [[0.1, 2]], [[0.0]]),
    ("str | None", ["x", None], [1]),
    ("any", [None, object, [1]], []),
])
def test_rules_accept_and_reject(rule, good, bad):
    r = parse_rule(rule)
    assert str(r) == rule
    for value in good:
        r.check(value)
    for value in bad:
        with pytest.raises(RuleViolation) as err:
            r.check(value)
        assert str(err.value) == f"{value!r} is not allowed; allowed: {rule}"


def test_cuda_choice_needs_a_gpu():
    import torch

    rule = parse_rule('one of "cpu", "cuda"')
    if torch.cuda.is_available():
        assert rule.check("cuda") == "cuda"
    else:  # refused before anything runs, not deep inside a chapter
        no_gpu = r"'cuda' is not allowed \(no CUDA device on this machine: torch.cuda.is_available\(\) is False\)"
        with pytest.raises(RuleViolation, match=no_gpu):
            rule.check("cuda")


def test_rules_coerce_floats_and_lists():
    assert parse_rule("float > 0").check(3) == 3.0 and isinstance(parse_rule("float > 0").check(3), float)
    assert parse_rule("list[float > 0]").check((1, 2)) == [1.0, 2.0]


def test_dataset_rule_resolves_against_the_caller(tmp_path, monkeypatch):
    (tmp_path / "my.csv").write_text("a,b\n1,2\n")
    (tmp_path / "notes.txt").write_text("x")
    rule = parse_rule("dataset")
    assert rule.check("iris") == "iris"
    monkeypatch.chdir(tmp_path)
    assert rule.check("my.csv") == str(tmp_path / "my.csv")
    with pytest.raises(RuleViolation, match=r"no such file: .*/nope\.csv\); allowed: dataset \(dataset: iris"):
        rule.check("nope.csv")
    with pytest.raises(RuleViolation, match="not a .csv file"):
        rule.check("notes.txt")
    with pytest.raises(RuleViolation, match="no such file"):
        rule.check("my.csv", base=tmp_path / "elsewhere")
    assert parse_rule('dataset | one of ""').check("") == ""


@pytest.mark.parametrize("comment, rule, meaning", [
    ("int >= 1 | minibatch size n", "int >= 1", "minibatch size n"),
    ("str | None | target column of a CSV", "str | None", "target column of a CSV"),
    ("float > 0 | a | b", "float > 0", "a | b"),
    ("bool", "bool", ""),
    ("run label, set by the runner", None, "run label, set by the runner"),
    ("threshold for |<delta, eta>| / n", None, "threshold for |<delta, eta>| / n"),
    ("", None, ""),
])
def test_split_comment(comment, rule, meaning):
    r, m = split_comment(comment)
    assert (str(r) if r else None, m) == (rule, meaning)


@pytest.mark.parametrize("comment", ["int >= one | n", "list[int >= 1 | widths", 'one of cpu, cuda | device',
                                     "float in (1, 0) | empty", "int => 1 | typo"])
def test_a_rule_with_a_typo_is_an_error_not_a_comment(comment):
    with pytest.raises(RuleSyntaxError):
        split_comment(comment)
