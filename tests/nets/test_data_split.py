"""The Keras ``validation_split`` reading of source 000's iris split (issue 8): the last rows, unshuffled."""

import numpy as np
import pytest
from sklearn.datasets import load_iris

from landscape.nets import data


def test_keras_split_holds_out_the_last_rows_of_iris_all_one_class():
    ds = data.load("iris", split="keras")
    assert ds.X_train.shape == (120, 4) and ds.X_val.shape == (30, 4)
    assert ds.info["val_index"].tolist() == list(range(120, 150))
    # scikit-learn's iris is sorted by class: 50 setosa, 50 versicolor, 50 virginica
    assert np.bincount(ds.y_train, minlength=3).tolist() == [50, 50, 20]
    assert set(ds.y_val.tolist()) == {2}
    raw = load_iris().data
    np.testing.assert_allclose(ds.X_train * ds.scale + ds.mean, raw[:120], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ds.mean, raw[:120].mean(axis=0), rtol=1e-14)  # training rows only


def test_keras_split_point_is_keras_own_rule():
    # keras: split_at = int(n * (1 - validation_split)); 0.3 of 150 leaves 105 training rows
    for n, f in ((150, 0.2), (150, 0.3), (398, 0.2), (11, 0.5)):
        tr, va = data.keras_split(n, f)
        assert len(tr) == int(n * (1 - f)) and np.array_equal(np.r_[tr, va], np.arange(n))
    with pytest.raises(ValueError, match="val_fraction"):
        data.keras_split(4, 0.9)  # int(0.4) = 0 rows left to train on


def test_default_split_is_unchanged_and_bad_split_fails():
    default, explicit = data.load("iris"), data.load("iris", split="stratified")
    assert np.array_equal(default.info["train_index"], explicit.info["train_index"])
    assert np.bincount(default.y_val).tolist() == [10, 10, 10]
    with pytest.raises(ValueError, match="split"):
        data.load("iris", split="last")


def _sklearn_split(n, f, seed, strata):
    from sklearn.model_selection import train_test_split

    tr, va = train_test_split(np.arange(n), test_size=f, random_state=seed, stratify=strata)
    return np.sort(tr), np.sort(va)


@pytest.mark.parametrize("stratified", [False, True])
def test_seeded_split_is_scikit_learns_index_for_index(stratified):
    # ties in the remainders (equal class counts) exercise the random tie-break; uneven classes the floors
    rng = np.random.default_rng(0)
    cases = [(150, 0.2, np.repeat([0, 1, 2], 50)), (178, 0.2, np.repeat([0, 1, 2], [59, 71, 48])),
             (1797, 0.2, rng.integers(0, 10, 1797)), (30, 0.3, np.repeat([0, 1, 2], [14, 14, 2])),
             (53, 0.37, rng.integers(0, 4, 53)), (11, 0.5, np.array([0, 1] * 5 + [1]))]
    for n, f, strata in cases:
        for seed in (0, 1, 7, 12345):
            labels = strata if stratified else None
            ours = data.seeded_split(n, f, seed, labels)
            ref = _sklearn_split(n, f, seed, labels)
            assert np.array_equal(ours[0], ref[0]) and np.array_equal(ours[1], ref[1]), (n, f, seed)
            assert ours[0].dtype == ref[0].dtype


def test_seeded_split_refuses_what_cannot_be_split():
    with pytest.raises(ValueError, match="least populated classes .* only 1 member"):
        data.seeded_split(30, 0.2, 0, np.array([0] * 14 + [1] * 15 + [2]))
    with pytest.raises(ValueError, match="val_fraction: 0.1 of 20 rows gives 18 training and 2 validation rows, "
                                         "fewer than the 3 classes"):
        data.seeded_split(20, 0.1, 0, np.repeat([0, 1, 2], [6, 7, 7]))
    with pytest.raises(ValueError, match="val_fraction"):
        data.seeded_split(1, 0.5, 0)
    with pytest.raises(ValueError, match=r"strata: one label per row expected, shape \(4,\), got \(2, 2\)"):
        data.seeded_split(4, 0.5, 0, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="strata: NaN labels"):
        data.seeded_split(4, 0.5, 0, np.array([0.0, 1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="seed"):
        data.load("iris", seed=2**32)  # beyond numpy's RandomState seeds: named, not numpy's message


def test_iris_and_digits_are_scikit_learns_bit_for_bit():
    # read from the files scikit-learn ships, without importing it in the kernel
    from sklearn.datasets import load_digits

    X, y, names = data._iris()
    ref = load_iris()
    assert np.array_equal(X, ref.data) and X.dtype == ref.data.dtype
    assert np.array_equal(y, ref.target) and y.dtype == ref.target.dtype
    assert names == ref.target_names.tolist() == ["setosa", "versicolor", "virginica"]
    X, y = data._digits()
    ref = load_digits()
    assert np.array_equal(X, ref.data) and X.dtype == ref.data.dtype
    assert np.array_equal(y, ref.target) and y.dtype == ref.target.dtype


def test_loading_a_built_in_dataset_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = ("import sys; from landscape.nets import data; data.load('iris'); data.load('digits'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
