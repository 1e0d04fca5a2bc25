r"""Residual MLPs of adjustable depth and width, with or without skip connections and batch norm.

The CPU-sized stand-in for Li et al.'s ResNet-20/56/110 and their "-noshort" versions (source 003, Sec. 5.4.3)
and for Im et al.'s networks with and without batch normalisation (Sec. 5.1.4): an input layer to ``width``
units, ``depth`` blocks :math:`h \leftarrow \mathrm{relu}(h + W_2\,\mathrm{relu}(W_1 h))` (``skip=True``) or
:math:`h \leftarrow \mathrm{relu}(W_2\,\mathrm{relu}(W_1 h))` (``skip=False``, the "noshort" net: the same
parameters without the identity), optional BN after each linear layer of a block, and a linear read-out.
"""

from __future__ import annotations

import torch
from torch import nn

from landscape.infra.validation import check_scalar

__all__ = ["ResidualMLP", "residual_mlp"]


class _Block(nn.Module):
    def __init__(self, width: int, skip: bool, bn: bool):
        super().__init__()
        self.skip = skip
        self.fc1, self.fc2 = nn.Linear(width, width), nn.Linear(width, width)
        self.bn1 = nn.BatchNorm1d(width) if bn else nn.Identity()
        self.bn2 = nn.BatchNorm1d(width) if bn else nn.Identity()

    def forward(self, h):
        z = self.bn2(self.fc2(torch.relu(self.bn1(self.fc1(h)))))
        return torch.relu(h + z if self.skip else z)


class ResidualMLP(nn.Module):
    """An input layer, ``depth`` residual (or "noshort") blocks and a linear read-out; build it with
    :func:`residual_mlp`.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    width : int
        Units of every hidden layer.
    depth : int
        Number of blocks.
    skip : bool
        Identity skip connections in the blocks.
    bn : bool
        Batch norm after each linear layer of a block.
    """

    def __init__(self, n_in: int, n_out: int, width: int, depth: int, skip: bool, bn: bool):
        super().__init__()
        self.inp = nn.Linear(n_in, width)
        self.blocks = nn.Sequential(*[_Block(width, skip, bn) for _ in range(depth)])
        self.out = nn.Linear(width, n_out)

    def forward(self, x):
        return self.out(self.blocks(torch.relu(self.inp(x))))


def residual_mlp(n_in: int, n_out: int, *, width: int = 32, depth: int = 2, skip: bool = True, bn: bool = False,
                 seed: int = 0, dtype=torch.float32) -> ResidualMLP:
    """A residual MLP (module docstring) with PyTorch's default initialisation drawn with ``seed``.

    Not :func:`landscape.nets.models.mlp` with ``batch_norm=True``: the blocks, PyTorch's default initialisation and
    batch norm with running statistics (inside the blocks only) make it a different network.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    width : int
        Width of every hidden layer.
    depth : int
        Residual blocks (two linear layers each); ``depth=0`` is a one-hidden-layer MLP, and the number of linear
        layers is ``2 * depth + 2``.
    skip : bool
        Identity connections around the blocks (False: Li et al.'s "noshort" net).
    bn : bool
        ``BatchNorm1d`` after each linear layer of a block.
    seed : int
        Seed of ``torch.manual_seed`` before the layers are built.
    dtype : torch.dtype
        Parameter precision of the residual net.

    Returns
    -------
    ResidualMLP
        A new residual net, in train mode.

    >>> sum(p.numel() for p in residual_mlp(64, 10, width=8, depth=1).parameters())
    754
    """
    for name, v, lo in (("n_in", n_in, 1), ("n_out", n_out, 1), ("width", width, 1), ("depth", depth, 0)):
        check_scalar(v, name, int, min_val=lo)
    torch.manual_seed(seed)
    return ResidualMLP(n_in, n_out, width, depth, bool(skip), bool(bn)).to(dtype)
