import numpy as np
import pandas as pd
import pytest

from landscape.nets import data


def test_iris_split_as_in_source():
    ds = data.load("iris")
    assert ds.X_train.shape == (120, 4) and ds.X_val.shape == (30, 4)
    assert ds.n_in == 4 and ds.n_out == 3 and ds.loss == "cce"
    # stratified: 40 of each class in training
    assert np.bincount(ds.y_train).tolist() == [40, 40, 40]


def test_auto_mpg_rows_split_and_imputation():
    ds = data.load("auto-mpg")
    assert ds.info["n_total"] == 398
    assert ds.X_train.shape == (318, 9) and ds.X_val.shape == (80, 9)
    imputed = ds.info["imputed"]["horsepower"]
    assert imputed["train"] + imputed["val"] == 6
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_val).all()
    assert ds.y_train.shape == (318, 1) and ds.loss == "mae"
    dropped = data.load("auto-mpg", missing="drop")
    assert dropped.info["n_total"] == 392 and dropped.info["dropped"] == 6


def test_scaling_uses_training_rows_only():
    ds = data.load("auto-mpg")
    raw = pd.read_csv("data/raw/auto-mpg.csv")
    tr = ds.info["train_index"]
    # the training part is exactly standardised ...
    np.testing.assert_allclose(ds.X_train.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(0), 1, atol=1e-12)
    # ... with statistics that ignore the validation rows
    np.testing.assert_allclose(ds.mean[0], raw.cylinders.to_numpy()[tr].mean())
    assert not np.isclose(ds.mean[0], raw.cylinders.mean())
    # the imputed value is the median of the training rows only
    assert ds.info["imputed"]["horsepower"]["value"] == np.nanmedian(raw.horsepower.to_numpy()[tr])


def test_split_depends_on_seed_only():
    a, b, c = data.load("iris", seed=1), data.load("iris", seed=1), data.load("iris", seed=2)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.info["val_index"], c.info["val_index"])
    assert set(a.info["train_index"]).isdisjoint(a.info["val_index"])


def test_digits_constant_pixels_are_not_divided_by_zero():
    ds = data.load("digits")
    assert ds.X_train.shape[1] == 64 and ds.n_out == 10
    assert np.isfinite(ds.X_train).all() and ds.info["constant_features"] > 0


def test_tampered_raw_file_is_refused(tmp_root):
    p = tmp_root / "data" / "raw" / "auto-mpg.csv"
    p.write_text(p.read_text().replace("chevrolet", "chevy", 1))
    with pytest.raises(ValueError, match="sha256"):
        data.load("auto-mpg")


def test_user_csv(tmp_path):
    df = pd.DataFrame({"a": np.arange(20.0), "b": np.linspace(0, 1, 20), "kind": ["x", "y"] * 10,
                       "label": ["p", "q", "r", "s"] * 5, "price": np.arange(20.0) * 2})
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    reg = data.load(path, target="price")
    assert reg.task == "regression" and reg.n_in == 2 + 2 + 4 and reg.N == 16
    cls = data.load(path, target="label")
    assert cls.task == "classification" and cls.n_classes == 4 and cls.class_names == ("p", "q", "r", "s")
    with pytest.raises(ValueError, match="target"):
        data.load(path, target="nope")
    with pytest.raises(ValueError, match="target"):
        data.load(path)
    df.loc[3, "b"] = np.nan
    df.to_csv(path, index=False)
    with pytest.raises(ValueError, match="NaN.*'b'"):
        data.load(path, target="price")


def _csv(tmp_path, **columns):
    n = len(next(iter(columns.values())))
    base = {"a": np.arange(n, dtype=float), "y": np.arange(n) % 3}
    path = tmp_path / "user.csv"
    pd.DataFrame({**base, **columns}).to_csv(path, index=False)
    return path


def test_user_csv_nonsense_fails_naming_file_and_column(tmp_path):
    big = np.arange(30.0)
    big[4] = 1e300  # its std overflows: silently all zeros before
    with pytest.raises(ValueError, match=r"user\.csv: column 'b' has values too large to standardise"):
        data.load(_csv(tmp_path, b=big), target="y")
    inf = np.arange(30.0)
    inf[2] = np.inf
    with pytest.raises(ValueError, match=r"user\.csv: column 'b' holds 1 inf values"):
        data.load(_csv(tmp_path, b=inf), target="y")
    with pytest.raises(ValueError, match=r"user\.csv: target column 'y' holds a single class"):
        data.load(_csv(tmp_path, y=np.zeros(30, int)), target="y", task="classification")
    with pytest.raises(ValueError, match=r"user\.csv: target column 'y' holds a single value"):
        data.load(_csv(tmp_path, y=np.ones(30)), target="y")
    ids = [f"id{i}" for i in range(60)]
    with pytest.raises(ValueError, match=r"user\.csv: column 'name' is text with 60 distinct values in 60 rows"):
        data.load(_csv(tmp_path, name=ids), target="y")
    with pytest.raises(ValueError, match=r"user\.csv: 3 data rows; at least 10"):
        data.load(_csv(tmp_path, b=np.arange(3.0)), target="y")
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,y\n")
    with pytest.raises(ValueError, match=r"header\.csv: 0 data rows"):
        data.load(header_only, target="y")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match=r"empty\.csv: not a readable CSV"):
        data.load(empty, target="y")
    one_of_a_class = _csv(tmp_path, y=[0] * 14 + [1] * 15 + [2])
    with pytest.raises(ValueError, match=r"user\.csv: target 'y': classes with a single row \(2\); a stratified"):
        data.load(one_of_a_class, target="y", task="classification")


def test_a_few_text_categories_are_still_one_hot(tmp_path):
    ds = data.load(_csv(tmp_path, kind=["x", "y", "z"] * 10), target="y", task="classification")
    assert ds.n_in == 1 + 3


@pytest.mark.parametrize("kwargs, match", [
    (dict(name_or_path="no/such.csv", target="y"), "no such file"),
    (dict(name_or_path="iris", seed=-1), "seed"),
    (dict(name_or_path="iris", task="foo"), "task"),
    (dict(name_or_path="cifar10"), "name_or_path"),
    (dict(name_or_path="iris", val_fraction=1.5), "val_fraction"),
    (dict(name_or_path="auto-mpg", missing="zero"), "missing"),
])
def test_bad_input_names_the_parameter(kwargs, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        data.load(**kwargs)


def test_synthetic_function():
    ds = data.synthetic_function(lambda x: np.log(np.sin(10 * x) + 2) + np.sin(x), n_train=50, n_test=1000)
    assert ds.X_train.shape == (50, 1) and ds.X_val.shape == (1000, 1)
    assert ds.X_train.min() >= -1 and ds.X_train.max() <= 1
