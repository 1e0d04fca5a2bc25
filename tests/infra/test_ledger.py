"""The ledger's rules (issue 21): claim kinds in the data files, one verdict per claim, one-sided verdicts for bounds,
verdicts on 95 % intervals over seeds, failed premises as "inconclusive", identities counted apart, readings credited
only out of their fit set, variants in the sensitivity table.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from landscape.infra import sources
from landscape.infra.results import (
    CLAIM_COLUMNS,
    SENSITIVITY_COLUMNS,
    VERDICTS,
    Claims,
    interval95,
    is_evidence,
    verdict,
    what_holds,
)

ROWS = """key,claim,kind,value,section,tol,partly,relative,scale_dependent,note
d,intrinsic dimension,value,17,Table 2,0.12,0.25,true,true,
auc,AUC ratio,value,0.9147,Table 2,0.01,0.02,false,true,
err,error exponent (O(p^-1/2)),upper_bound,-0.5,Sec. 2,0.15,0.3,false,,
gain,gain in percent (more than 9 %),lower_bound,9,App. D,0,0.5,true,,
falls,the trace falls,qualitative,true,Fig. 2,,,,,
exact,exact fit when rank J0 = m,identity,true,Sec. 1,,,,,
"""


@pytest.fixture
def source_900(tmp_path, monkeypatch):
    monkeypatch.setenv("LANDSCAPE_ROOT", str(tmp_path))
    (tmp_path / "data" / "sources").mkdir(parents=True)
    (tmp_path / "data" / "sources" / "900.csv").write_text(ROWS)
    return tmp_path


def _write(tmp, text):
    (tmp / "data" / "sources" / "901.csv").write_text(text)


def test_every_data_file_has_a_kind_for_every_row():
    for path in sorted(sources.sources_dir().glob("[0-9][0-9][0-9].csv")):
        table = sources.source_table(path.stem)
        assert tuple(table.columns) == sources.COLUMNS
        assert set(table.kind) <= set(sources.KINDS), path.name
        for key in table.key:  # every row parses under its kind
            sources.source_value(path.stem, key)
    assert sources.source_value("001", "mc_negative_fraction").kind == "identity"  # our model, not the source's number
    assert sources.source_value("001", "lin_error_exponent").kind == "upper_bound"


def test_a_bad_kind_or_a_value_that_does_not_fit_its_kind_is_refused(source_900):
    _write(source_900, ROWS.replace("identity,true", "identiy,true"))
    with pytest.raises(ValueError, match="kind must be one of"):
        sources.source_table("901")
    _write(source_900, ROWS.replace("qualitative,true", "qualitative,3"))
    with pytest.raises(ValueError, match="qualitative claim must be true or false"):
        sources.source_value("901", "falls")
    _write(source_900, ROWS.replace("upper_bound,-0.5", "upper_bound,true"))
    with pytest.raises(ValueError, match="upper_bound claim must be a number"):
        sources.source_value("901", "err")


def test_bounds_are_one_sided():
    # an O(p^-1/2) error bound is met by anything at or below it: a faster fall is no failure
    assert verdict(-0.5, -0.9, tol=0.15, partly=0.3, kind="upper_bound") == "reproduced"
    assert verdict(-0.5, -0.35, tol=0.15, partly=0.3, kind="upper_bound") == "reproduced"  # edge: -0.5 + 0.15
    assert verdict(-0.5, -0.3, tol=0.15, partly=0.3, kind="upper_bound") == "partly"
    assert verdict(-0.5, -0.1, tol=0.15, partly=0.3, kind="upper_bound") == "not reproduced"
    # the same numbers judged two-sided, as the old rule did
    assert verdict(-0.5, -0.9, tol=0.15, partly=0.3) == "not reproduced"
    # "more than 9 %": 45.85 % meets it, 5 % is partly (>= 4.5), 3 % fails
    assert verdict(9, 45.85, partly=0.5, relative=True, kind="lower_bound") == "reproduced"
    assert verdict(9, 5, partly=0.5, relative=True, kind="lower_bound") == "partly"
    assert verdict(9, 3, partly=0.5, relative=True, kind="lower_bound") == "not reproduced"


def test_interval_verdicts():
    # d = 17, reproduced band [14.96, 19.04], partly band [12.75, 21.25]
    kw = dict(tol=0.12, partly=0.25, relative=True)
    assert verdict(17, 16.5, interval=(15.5, 17.5), **kw) == "reproduced"
    assert verdict(17, 14, interval=(13, 14.5), **kw) == "partly"  # inside the partly band, outside the other
    assert verdict(17, 15, interval=(13, 17), **kw) == "inconclusive"  # reproduced or partly: cannot tell
    assert verdict(17, 10, interval=(9, 12), **kw) == "not reproduced"  # entirely outside the partly band
    assert verdict(17, 13, interval=(11, 15), **kw) == "inconclusive"  # straddles the partly band's edge
    assert verdict(17, 17, interval=(10, 24), **kw) == "inconclusive"  # too wide to decide
    # without a partly band an interval across the tolerance edge cannot decide either way
    assert verdict(1.0, 1.05, tol=0.1, interval=(0.95, 1.15)) == "inconclusive"
    # a point is never inconclusive: the old rule
    assert verdict(17, 20, **kw) == "partly" and verdict(17, 22, **kw) == "not reproduced"
    with pytest.raises(ValueError, match="interval"):
        verdict(17, 17, interval=(18, 16), **kw)
    with pytest.raises(ValueError, match="kind"):
        verdict(17, 17, kind="qualitative")


def test_interval95_is_the_student_t_interval():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 0.5, size=7)
    mean, lo, hi, n = interval95(x)
    half = stats.t.ppf(0.975, 6) * x.std(ddof=1) / math.sqrt(7)
    assert n == 7 and mean == pytest.approx(x.mean(), abs=1e-15)
    assert (lo, hi) == pytest.approx((x.mean() - half, x.mean() + half), abs=1e-14)
    one = interval95([2.5])
    assert one[0] == 2.5 and math.isnan(one[1]) and one[3] == 1
    with pytest.raises(ValueError, match="sample"):
        interval95([1.0, np.nan])


def test_check_records_a_sample_over_seeds_and_judges_its_interval(source_900):
    c = Claims("02_x", "quick")
    # chapter 02's d over three init seeds: 16, 18, 17 -> mean 17, half-width 4.303 * 1 / sqrt(3) = 2.484
    assert c.check("900", "d", [16, 18, 17]) == "inconclusive"  # [14.52, 19.48] crosses 14.96
    row = c.frame().iloc[0]
    assert row.measured == "17" and row.n_runs == "3"
    assert float(row.ci_low) == pytest.approx(17 - 2.484, abs=0.01)
    assert float(row.ci_high) == pytest.approx(17 + 2.484, abs=0.01)
    c2 = Claims("02_x", "quick")
    assert c2.check("900", "d", [16.8, 17.2, 17.0, 16.9, 17.1]) == "reproduced"
    c3 = Claims("02_x", "quick")
    assert c3.check("900", "d", 16.2, interval=(12.0, 20.0), n_runs=30) == "inconclusive"
    assert c3.frame().n_runs[0] == "30"
    with pytest.raises(ValueError, match="not both"):
        Claims("02_x", "quick").check("900", "d", [1.0, 2.0], interval=(0, 3))


def test_one_verdict_per_claim_and_variants_apart(source_900):
    c = Claims("02_x", "quick")
    c.check("900", "d", 1708, note="literal reading")
    with pytest.raises(ValueError, match="already judged"):
        c.check("900", "d", 16, reading="rcond 6e-4")
    c.variant("900", "d", 16, variant="best reading", reading="rcond 6e-4")
    c.variant("900", "d", 18, variant="lr 0.05")
    claims, sens = c.frame(), c.sensitivity()
    assert list(claims.columns) == list(CLAIM_COLUMNS) and len(claims) == 1
    assert claims.verdict[0] == "not reproduced"
    assert list(sens.columns) == list(SENSITIVITY_COLUMNS) and "verdict" not in sens.columns
    assert sens.variant.tolist() == ["best reading", "lr 0.05"] and sens.measured.tolist() == ["16", "18"]
    with pytest.raises(ValueError, match="variant"):
        c.variant("900", "d", 3, variant="")


def test_a_failed_premise_is_inconclusive_never_not_reproduced(source_900):
    c = Claims("06_x", "quick")
    v = c.check("900", "falls", False, premise=("trained network", False, "training loss 2.41 > 0.1"))
    assert v == "inconclusive"
    assert c.frame().premise[0] == "trained network: training loss 2.41 > 0.1 (FAILS)"
    v = c.check("900", "auc", 0.5, premise=("trained network", True, "training loss 0.03 <= 0.1"))
    assert v == "not reproduced" and c.frame().premise[1].endswith("(holds)")
    with pytest.raises(ValueError, match="premise"):
        c.check("900", "err", -1.0, premise=("trained", True))
    # a claim whose premise fails may have nothing to measure at all
    assert c.check("900", "d", float("nan"), premise=("d reaches 17 on the grid", False, "d spans 40-117")) == \
        "inconclusive"
    with pytest.raises(ValueError, match="needs a failed premise"):
        c.check("900", "gain", float("nan"))


def test_identities_hold_by_construction_and_are_counted_apart(source_900):
    c = Claims("05_x", "quick")
    assert c.check("900", "exact", True) == "holds by construction"
    assert c.check("900", "falls", True) == "reproduced"
    assert c.check("900", "err", -0.1) == "not reproduced"
    df = c.frame()
    assert is_evidence(df).tolist() == [False, True, True]
    text = what_holds(df)
    assert "**Holds by construction**" in text and "exact fit when rank J0 = m" in text
    assert "**Holds.** 1 claim: the trace falls." in text  # a true/false claim that held: no numbers
    assert "**Does not hold.** 1 claim: error exponent (O(p^-1/2)): source -0.5, here -0.1." in text
    assert c.check("900", "gain", 3.0, premise=("x", True, "ok")) == "not reproduced"
    assert "holds by construction" in VERDICTS and "inconclusive" in VERDICTS


def test_a_reading_is_credited_only_out_of_its_fit_set(source_900):
    c = Claims("02_x", "quick")
    with pytest.raises(ValueError, match="fitted on this number"):
        c.check("900", "d", 16, reading="rcond 6e-4", fit_set=["d", "auc"])
    c.variant("900", "d", 16, variant="best reading", reading="rcond 6e-4", fit_set=["d", "auc"])
    assert "this is its fit set" in c.sensitivity().note[0]
    _write(source_900, ROWS + "d3,batch size 10: d,value,17,Table 3,0.12,0.25,true,true,\n")
    assert c.check("901", "d3", 17.5, reading="rcond 6e-4", fit_set=["d", "auc"]) == "reproduced under reading"
    assert "judged out of sample" in c.frame().note[0]


def test_sample_of_bools_over_seeds(source_900):
    assert Claims("x", "quick").check("900", "falls", [True, True, True]) == "reproduced"
    c = Claims("x", "quick")
    assert c.check("900", "falls", np.array([True, False, True, True])) == "inconclusive"
    assert c.frame().measured[0] == "0.75" and c.frame().n_runs[0] == "4"


def test_write_puts_variants_in_sensitivity_csv(source_900):
    c = Claims("02_x", "quick")
    c.check("900", "auc", 0.9093)
    c.write()
    folder = source_900 / "data" / "results" / "quick" / "02_x"
    assert (folder / "claims.csv").exists() and not (folder / "sensitivity.csv").exists()
    c.variant("900", "auc", 0.94, variant="Keras split")
    c.write()
    sens = pd.read_csv(folder / "sensitivity.csv", dtype=str, keep_default_na=False)
    assert sens.variant.tolist() == ["Keras split"]


def test_a_substitute_keeps_its_measurement_in_words(source_900):
    c = Claims("03_x", "quick")
    assert c.substitute("900", "falls", "2/2 saddles", note="digits stand-ins") == "substituted"
    assert c.frame().measured[0] == "2/2 saddles"
    with pytest.raises(ValueError, match="in words"):
        c.check("900", "auc", "about 0.9")


def test_a_judged_substitute_notes_the_rule_s_outcome_and_stays_substituted(source_900):
    c = Claims("06_x", "quick")
    assert c.substitute("900", "d", 20, note="digits MLP", judge=True) == "substituted"  # 3/17 = 0.18: partly
    assert c.substitute("900", "auc", 0.9150, note="digits MLP", judge=True) == "substituted"
    notes = list(c.frame().note)
    assert notes[0].startswith("on the substitute: partly.") and notes[0].endswith("digits MLP")
    assert notes[1].startswith("on the substitute: reproduced.")
    assert list(c.frame().verdict) == ["substituted", "substituted"]


def test_threshold_judges_a_worded_claim_on_the_interval(source_900):
    # "almost all" read as >= 0.9: per-seed true/false would call [0.71 +- 1.4] "not reproduced"; the interval says
    # it cannot tell
    c = Claims("07_x", "quick")
    assert c.threshold("900", "falls", [0.5, 0.92], at=0.9) == "inconclusive"
    row = c.frame().iloc[0]
    assert row.measured == "0.71" and float(row.ci_low) < 0.9 < float(row.ci_high) and row.n_runs == "2"
    # a certain fall smaller than "substantially" is partly; one that reaches it is reproduced under the reading
    assert Claims("x", "q").threshold("900", "falls", [0.08, 0.09, 0.10], at=0.25, partly_at=0) == "partly"
    assert Claims("x", "q").threshold("900", "falls", [0.30, 0.31, 0.29], at=0.25, partly_at=0,
                                      reading="'substantially' as >= 25 %") == "reproduced under reading"
    assert Claims("x", "q").threshold("900", "falls", [-0.10, -0.11, -0.09], at=0.25, partly_at=0) == \
        "not reproduced"
    assert Claims("x", "q").threshold("900", "falls", [0.95], at=0.9) == "reproduced"  # one run: its value
    assert Claims("x", "q").threshold("900", "falls", [0.95, 0.96], at=0.9,
                                      premise=("trained", False, "loss 0.24 > 0.02")) == "inconclusive"
    with pytest.raises(ValueError, match="partly_at"):
        Claims("x", "q").threshold("900", "falls", [1.0], at=0.2, partly_at=0.3)
    with pytest.raises(ValueError, match="sample"):
        Claims("x", "q").threshold("900", "falls", [np.nan], at=0.2)
    with pytest.raises(ValueError, match="qualitative claim whose value is true"):
        Claims("x", "q").threshold("900", "auc", [0.95], at=0.9)


def test_an_assumed_premise_applies_to_every_later_check_of_its_keys(source_900):
    c = Claims("02_x", "quick")
    c.assume({"d", "auc"}, ("the source's trajectory length", False, "M = 120 < 2400"))
    c.assume(lambda key: key == "d", ("a kernel that links the points", True, "4.2 neighbours"))
    assert c.check("900", "d", 17) == "inconclusive"  # would be reproduced: the length premise fails
    premise = c.frame().premise[0]
    assert "the source's trajectory length: M = 120 < 2400 (FAILS)" in premise
    assert "a kernel that links the points: 4.2 neighbours (holds)" in premise
    assert c.check("900", "err", -0.9) == "reproduced"  # not one of its keys
    assert c.threshold("900", "falls", [1.0], at=0.5) == "reproduced"
    c2 = Claims("02_x", "quick")
    c2.assume(["auc"], ("trained", True, "loss 0.01"))
    assert c2.check("900", "auc", 0.9147) == "reproduced" and c2.frame().premise[0] == "trained: loss 0.01 (holds)"
    with pytest.raises(ValueError, match="premise"):
        c2.assume(["auc"], ("trained", True))
    with pytest.raises(ValueError, match="one string"):
        c2.assume("auc", ("trained", True, "x"))
