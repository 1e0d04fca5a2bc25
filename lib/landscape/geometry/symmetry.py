r"""Equioutput symmetries of fully connected networks (Chen, Lu & Hecht-Nielsen 1993; source 003, Sec. 5.2).

Hidden-unit *interchanges* (permute the units of one hidden layer, with the compensating permutation of the
next layer's input columns) and *sign flips* (negate a unit's incoming weights and bias and its outgoing
weights; exact for odd activations such as tanh) leave the network function unchanged (eq (1)). They
generate the group :math:`G`, isomorphic to :math:`O_{M_1}\times\dots\times O_{M_{K}}` (signed permutations
per hidden layer), of order eq (2): :math:`\#G = \prod_l M_l!\, 2^{M_l}`. Its elements are isometries of
weight space (eq (5)), so the copies of an optimum lie on a sphere: the *spherical throng*.

A group element is a tuple with one ``(perm, signs)`` pair per hidden layer: the new unit ``i`` of the layer is
``signs[i]`` times the old unit ``perm[i]``. :func:`canonical_form` maps a network to the representative in
Chen's fundamental wedge eq (3): every hidden bias positive, biases of each layer in decreasing order.

Models are ``torch.nn.Sequential`` stacks of ``nn.Linear`` layers with element-wise activations between them
(as built by :func:`landscape.nets.models.mlp`); ``layer`` counts hidden layers from 0.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from landscape.nets import models

__all__ = [
    "permute_units",
    "flip_units",
    "group_order",
    "hidden_widths",
    "group_elements",
    "apply_element",
    "moved_copies",
    "compose",
    "is_generator",
    "canonical_form",
    "in_wedge",
    "throng",
    "nearest_copy",
    "fitness_distance_correlation",
]

ODD = (nn.Tanh, nn.Identity)


def _linears(model: nn.Module) -> list[nn.Linear]:
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"model must be an nn.Sequential of Linear layers, got {type(model).__name__}")
    lins = [m for m in model if isinstance(m, nn.Linear)]
    if len(lins) < 2:
        raise ValueError("model must have at least one hidden layer (two Linear layers)")
    return lins


def _activation_after(model: nn.Sequential, layer: int) -> nn.Module | None:
    """The module right after the ``layer``-th Linear (its activation), None if it is another Linear."""
    seen = -1
    mods = list(model)
    for i, m in enumerate(mods):
        if isinstance(m, nn.Linear):
            seen += 1
            if seen == layer:
                nxt = mods[i + 1] if i + 1 < len(mods) else None
                return None if isinstance(nxt, nn.Linear) else nxt
    raise AssertionError(layer)  # pragma: no cover - layer validated by the caller


def _check_layer(lins: list[nn.Linear], layer) -> int:
    if isinstance(layer, bool) or not isinstance(layer, int | np.integer) or not 0 <= layer < len(lins) - 1:
        raise ValueError(f"layer must be a hidden-layer index in [0, {len(lins) - 2}], got {layer!r}")
    return int(layer)


def hidden_widths(model: nn.Module) -> list[int]:
    """Widths ``[M_1, ..., M_{K}]`` of the hidden layers of ``model``.

    Parameters
    ----------
    model : torch.nn.Sequential
        Stack of Linear layers and activations.

    Returns
    -------
    list of int
        One width per hidden layer.
    """
    return [lin.out_features for lin in _linears(model)[:-1]]


def permute_units(model: nn.Module, layer: int, perm) -> nn.Module:
    """Interchange the hidden units of ``layer``: new unit ``i`` is old unit ``perm[i]`` (eq (1), in place).

    Rows of the layer's weight and bias are permuted, and the columns of the next layer's weight with them,
    so the network function is unchanged for every activation. Returns ``model``.

    Parameters
    ----------
    model : torch.nn.Sequential
        Network changed in place by the interchange.
    layer : int
        Hidden layer, from 0.
    perm : array_like
        A permutation of the layer's units.

    Returns
    -------
    torch.nn.Module
        ``model``.

    >>> net = models.mlp([2, 3, 1], "tanh", seed=0, dtype=torch.float64)
    >>> x = torch.randn(5, 2, dtype=torch.float64)
    >>> before = net(x)
    >>> bool(torch.allclose(permute_units(net, 0, [2, 0, 1])(x), before, rtol=0, atol=1e-14))
    True
    """
    lins = _linears(model)
    layer = _check_layer(lins, layer)
    M = lins[layer].out_features
    p = np.asarray(perm)
    if p.shape != (M,) or not np.array_equal(np.sort(p), np.arange(M)):
        raise ValueError(f"perm must be a permutation of range({M}), got {perm!r}")
    idx = torch.as_tensor(p, dtype=torch.long, device=lins[layer].weight.device)
    with torch.no_grad():
        lins[layer].weight.copy_(lins[layer].weight[idx])
        lins[layer].bias.copy_(lins[layer].bias[idx])
        lins[layer + 1].weight.copy_(lins[layer + 1].weight[:, idx])
    return model


def flip_units(model: nn.Module, layer: int, units) -> nn.Module:
    r"""Sign-flip the hidden ``units`` of ``layer`` (in place; returns ``model``).

    The units' incoming weights and biases and their outgoing weights change sign. This is equioutput for odd
    activations (tanh, identity; Chen et al.). For the logistic sigmoid, :math:`\sigma(-z) = 1 - \sigma(z)`,
    so the next layer's bias absorbs the old outgoing weights (:math:`b' = b + w`), which keeps the function
    exact too. Other activations raise ``ValueError``.

    Parameters
    ----------
    model : torch.nn.Sequential
        Network changed in place by the flips.
    layer : int
        Hidden layer, from 0.
    units : array_like
        Indices of the units flipped.

    Returns
    -------
    torch.nn.Module
        ``model``.
    """
    lins = _linears(model)
    layer = _check_layer(lins, layer)
    M = lins[layer].out_features
    u = np.unique(np.asarray(units, dtype=np.int64).reshape(-1))
    if len(u) and (u.min() < 0 or u.max() >= M):
        raise ValueError(f"units must lie in range({M}), got {units!r}")
    act = _activation_after(model, layer)
    if not isinstance(act, ODD + (nn.Sigmoid,)) and act is not None:
        raise ValueError(f"sign flips need an odd activation (tanh, identity) or sigmoid, got {type(act).__name__}")
    idx = torch.as_tensor(u, dtype=torch.long, device=lins[layer].weight.device)
    with torch.no_grad():
        if isinstance(act, nn.Sigmoid):
            lins[layer + 1].bias.add_(lins[layer + 1].weight[:, idx].sum(dim=1))
        lins[layer].weight[idx] *= -1
        lins[layer].bias[idx] *= -1
        lins[layer + 1].weight[:, idx] *= -1
    return model


def group_order(widths: Sequence[int]) -> int:
    r"""Order of the equioutput group, eq (2): :math:`\#G = \prod_l M_l!\,2^{M_l}` over hidden widths.

    Parameters
    ----------
    widths : sequence of int
        Hidden widths.

    Returns
    -------
    int
        #G.

    >>> group_order([2])   # XOR 2-2-1: 2! * 2^2
    8
    >>> group_order([3, 2])
    384
    """
    widths = list(widths)
    if not widths or any(isinstance(w, bool) or not isinstance(w, int | np.integer) or w < 1 for w in widths):
        raise ValueError(f"widths must be a non-empty list of positive integers, got {widths!r}")
    return math.prod(math.factorial(int(w)) * 2 ** int(w) for w in widths)


def group_elements(widths: Sequence[int]):
    """Iterate over all ``#G`` elements: tuples of ``(perm, signs)`` per hidden layer (brute force, small nets).

    Parameters
    ----------
    widths : sequence of int
        Hidden widths.

    Yields
    ------
    tuple
        One element at a time.
    """
    group_order(widths)
    per_layer = [list(itertools.product(itertools.permutations(range(w)), itertools.product((1, -1), repeat=w)))
                 for w in widths]
    for combo in itertools.product(*per_layer):
        yield tuple((np.array(p), np.array(s)) for p, s in combo)


def apply_element(model: nn.Module, element) -> nn.Module:
    """Apply a group element (tuple of ``(perm, signs)`` per hidden layer) to ``model`` in place.

    New unit ``i`` of hidden layer ``l`` is ``signs[i]`` times old unit ``perm[i]``.

    Parameters
    ----------
    model : torch.nn.Sequential
        Network moved in place by the element.
    element : tuple
        One ``(perm, signs)`` per hidden layer.

    Returns
    -------
    torch.nn.Module
        ``model``.
    """
    widths = hidden_widths(model)
    if len(element) != len(widths):
        raise ValueError(f"element must have one (perm, signs) pair per hidden layer ({len(widths)})")
    for layer, (perm, signs) in enumerate(element):
        permute_units(model, layer, perm)
        flip_units(model, layer, np.flatnonzero(np.asarray(signs) < 0))
    return model


def moved_copies(model: nn.Module, elements):
    """``model`` moved by each element in turn: the values of ``apply_element(copy.deepcopy(model), e)`` for each
    ``e``, bit for bit, from one scratch copy that gets ``model``'s parameters back before each element (a deepcopy
    of a small MLP costs ~0.7 ms, ten times the reset; a throng of 384 copies is enumerated several times per
    chapter).

    The yielded network is the same object every time: read what you need from it before asking for the next.

    Parameters
    ----------
    model : torch.nn.Sequential
        Network to move (left unchanged).
    elements : iterable
        Group elements (:func:`group_elements`, one ``(perm, signs)`` per hidden layer).

    Yields
    ------
    torch.nn.Module
        The scratch network moved by the element.
    """
    scratch = copy.deepcopy(model)
    state = {name: value.detach().clone() for name, value in model.state_dict().items()}
    for element in elements:
        scratch.load_state_dict(state)
        yield apply_element(scratch, element)


def compose(h, g):
    """The element ``h ∘ g`` (apply ``g`` first): ``perm = g.perm[h.perm]``, ``signs = h.signs * g.signs[h.perm]``.

    Parameters
    ----------
    h, g : tuple
        Group elements.

    Returns
    -------
    tuple
        The composed element.
    """
    return tuple((pg[ph], sh * sg[ph]) for (ph, sh), (pg, sg) in zip(h, g, strict=True))


def is_generator(element) -> bool:
    """True when ``element`` is a single interchange of two units (no flip) or a single sign flip.

    Parameters
    ----------
    element : tuple
        One ``(perm, signs)`` per hidden layer.

    Returns
    -------
    bool
        Whether it is a generator.
    """
    moved = sum(int(np.sum(p != np.arange(len(p)))) for p, _ in element)
    flips = sum(int(np.sum(np.asarray(s) < 0)) for _, s in element)
    return (moved == 2 and flips == 0) or (moved == 0 and flips == 1)


def canonical_form(model: nn.Module) -> nn.Module:
    """A copy of ``model`` moved by the group into Chen's wedge eq (3).

    Per hidden layer: flip every unit with a negative bias (odd activations and sigmoid; see
    :func:`flip_units`), then order the units by decreasing bias. A layer's transformation only changes the next
    layer's input columns, never its biases, so layers are handled independently. The result is idempotent and
    the same for every member of the throng, up to ties or zeros among the biases (measure zero).

    Parameters
    ----------
    model : torch.nn.Sequential
        Network to canonicalise (left unchanged).

    Returns
    -------
    torch.nn.Module
        A new model.
    """
    out = copy.deepcopy(model)
    for layer, lin in enumerate(_linears(out)[:-1]):
        neg = np.flatnonzero(lin.bias.detach().cpu().numpy() < 0)
        if len(neg):
            flip_units(out, layer, neg)
        order = np.argsort(-lin.bias.detach().cpu().numpy(), kind="stable")
        permute_units(out, layer, order)
    return out


def in_wedge(model: nn.Module) -> bool:
    """Whether ``model`` lies in the open wedge eq (3): hidden biases positive and strictly decreasing.

    Parameters
    ----------
    model : torch.nn.Sequential
        Network whose hidden biases are tested.

    Returns
    -------
    bool
        Whether the biases are positive and decreasing.
    """
    for lin in _linears(model)[:-1]:
        b = lin.bias.detach().cpu().numpy()
        if np.any(b <= 0) or np.any(np.diff(b) >= 0):
            return False
    return True


def throng(model: nn.Module, max_size: int = 100_000) -> tuple[np.ndarray, list]:
    """The spherical throng: the flat parameter vectors of all ``#G`` copies of ``model`` (rows) and the elements.

    Every row has the norm of ``model``'s vector (eq (5)); row 0 is the identity. Refuses ``#G > max_size``.

    Parameters
    ----------
    model : torch.nn.Sequential
        Network whose copies are enumerated.
    max_size : int
        Largest #G allowed.

    Returns
    -------
    (numpy.ndarray, list)
        (#G, m) rows and the elements.
    """
    widths = hidden_widths(model)
    if group_order(widths) > max_size:
        raise ValueError(f"#G = {group_order(widths)} exceeds max_size = {max_size}")
    elements = list(group_elements(widths))
    rows = [models.flatten(moved).to(torch.float64).cpu().numpy() for moved in moved_copies(model, elements)]
    return np.stack(rows), elements


def nearest_copy(theta, throng_rows) -> tuple[float, int]:
    """Distance from the flat vector ``theta`` to the nearest member of a throng (rows), and that row's index:
    the distance modulo the symmetries.

    Parameters
    ----------
    theta : array_like
        Flat vector.
    throng_rows : array_like
        (#G, m) rows of :func:`throng`.

    Returns
    -------
    (float, int)
        Distance and index of the nearest row.
    """
    d = np.linalg.norm(np.asarray(throng_rows, dtype=np.float64) - np.asarray(theta, dtype=np.float64), axis=1)
    i = int(np.argmin(d))
    return float(d[i]), i


def fitness_distance_correlation(errors, distances) -> float:
    r"""Jones' fitness-distance correlation eq (9): :math:`r = \operatorname{cov}(D, E)/(\sigma_D\sigma_E)`.

    Parameters
    ----------
    errors : array_like
        Fitness values E.
    distances : array_like
        Same length >= 2, finite.

    Returns
    -------
    float
        Pearson's r between D and E.

    >>> fitness_distance_correlation([1.0, 2.0, 3.0], [2.0, 4.0, 6.5])
    0.9979487157886733
    """
    E, D = np.asarray(errors, dtype=np.float64).reshape(-1), np.asarray(distances, dtype=np.float64).reshape(-1)
    if E.shape != D.shape or len(E) < 2 or not (np.all(np.isfinite(E)) and np.all(np.isfinite(D))):
        raise ValueError("errors and distances must be finite arrays of the same length >= 2")
    return float(np.corrcoef(D, E)[0, 1])
