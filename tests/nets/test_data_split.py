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
