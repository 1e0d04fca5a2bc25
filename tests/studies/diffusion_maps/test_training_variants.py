"""Training-side variants of chapter 02 (landscape.studies.diffusion_maps.training_variants) against record_sgd,
the data loader and dense float64 linear algebra.
"""

import dataclasses

import numpy as np
import pytest

from landscape.diffusion import manifold
from landscape.nets import data
from landscape.nets.recording import RecordConfig, record_sgd
from landscape.studies.diffusion_maps import training_variants as tv

CFG = RecordConfig(hidden=(4,), epochs=2, batch_size=20, seed=1)


def test_defaults_reproduce_record_sgd_bit_for_bit(tmp_root):
    ref = record_sgd(CFG, progress=False)
    var = tv.record_variant(tv.VariantConfig(**dataclasses.asdict(CFG)))
    assert np.array_equal(ref.params, var.params) and np.array_equal(ref.initial, var.initial)
    assert np.array_equal(ref.batch_indices, var.batch_indices)
    assert np.array_equal(ref.epoch_train_loss, var.epoch_train_loss)
    assert var.config.key() != CFG.key()  # its distances are cached apart from the plain record's


def test_order_seed_keeps_the_initial_weights_and_changes_only_the_order(tmp_root):
    base = tv.VariantConfig(**dataclasses.asdict(CFG))
    a, b = tv.record_variant(base), tv.record_variant(dataclasses.replace(base, order_seed=7))
    assert np.array_equal(a.initial, b.initial)
    assert not np.array_equal(a.batch_indices, b.batch_indices)
    first = np.random.default_rng([7, 0]).permutation(a.dataset().N)[:20]
    assert np.array_equal(np.sort(b.batch_indices[0]), np.sort(first))
    assert tv.path_gap(a, b) > 0 and tv.path_gap(a, a) == 0


def test_variant_data_undo_the_standardisation_and_scale_the_target():
    std = data.load("iris")
    raw = tv.variant_dataset(tv.VariantConfig(standardise=False))
    np.testing.assert_allclose(raw.X_train, std.X_train * std.scale + std.mean, rtol=0, atol=1e-12)
    assert raw.mean is None and raw.N == std.N
    z = tv.variant_dataset(tv.VariantConfig(dataset="auto-mpg", hidden=(21, 13), target_scale="standardised"))
    assert abs(z.y_train.mean()) < 1e-12 and z.y_train.std() == pytest.approx(1.0, rel=1e-12)
    drop = tv.variant_dataset(tv.VariantConfig(dataset="auto-mpg", hidden=(21, 13), missing="drop"))
    assert drop.info["dropped"] == 6 and drop.info["n_total"] == 392
    with pytest.raises(ValueError, match="target_scale"):
        tv.variant_dataset(tv.VariantConfig(target_scale="standardised"))  # iris is a classification task


def test_bad_fields_name_themselves():
    with pytest.raises(ValueError, match="missing"):
        tv.VariantConfig(missing="mean")
    with pytest.raises(ValueError, match="order_seed"):
        tv.VariantConfig(order_seed=-1)
    with pytest.raises(ValueError, match="config"):
        tv.record_variant(CFG)


def test_float32_pinv_above_the_rounding_floor_matches_float64(tmp_root):
    # at a cutoff far above float32's rounding floor the float32 pinv keeps the same directions as float64's cutoff
    traj = record_sgd(dataclasses.replace(CFG, epochs=1), progress=False)
    rc = 1e-3
    sq32 = tv.numpy_float32_distances(traj, rcond=rc)
    sq64 = manifold.sq_distances(traj, rcond=rc, cache=False)
    off = ~np.eye(traj.M, dtype=bool)
    np.testing.assert_allclose(sq32[off], sq64[off], rtol=1e-2)


def test_float32_pinv_at_numpy_default_keeps_the_rounding_directions(tmp_root):
    # numpy's 1e-15 keeps the m - rank rounding directions of a float32 C (m = 323 > N = 120, so rank C < m): the
    # distances grow many times over (and some turn negative:
    # the float32 pseudo-inverse is not positive semi-definite)
    traj = record_sgd(dataclasses.replace(CFG, hidden=(40,), epochs=1), progress=False)
    assert traj.m > traj.dataset().N
    sq32 = tv.numpy_float32_distances(traj)
    sq64 = manifold.sq_distances(traj, rcond=1e-15, cache=False)
    off = ~np.eye(traj.M, dtype=bool)
    assert np.median(np.abs(sq32[off])) > 10 * np.median(sq64[off])  # measured: about 50x
    with pytest.raises(ValueError, match="rcond"):
        tv.numpy_float32_distances(traj, rcond=1.0)
