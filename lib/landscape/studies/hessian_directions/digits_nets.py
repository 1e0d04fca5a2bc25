r"""Small stand-ins on the scikit-learn digits for the five CIFAR-10 classifiers of Böttcher & Wheeler
(Sec. IV, Appendix C, Table 2): ResNet-56 with and without skip connections, DenseNet-121, MobileNetV2 and
GoogLeNet. Each keeps the one structural idea that names its family, in fully connected layers on the 64 pixels
(a few thousand parameters).

* ``resnet``: a stem and two residual blocks :math:`x + W_2\,\mathrm{relu}(W_1 x)`, ReLU after each;
* ``resnet_noskip``: the same layers without the identity paths (Li et al.'s "no short-cut" ResNet);
* ``densenet``: a dense block, every layer sees the concatenation of all earlier features;
* ``mobilenet``: inverted residual blocks (4x expansion, ReLU, linear projection back, skip);
* ``googlenet``: inception blocks, parallel branches of depth 1 and 2 concatenated.

What differs from the source, beyond scale: fully connected blocks instead of convolutions (a convolution on
8x8 images costs ~100x more per loss evaluation on a CPU, and the planes need thousands of evaluations), no
batch normalisation (its statistics would make the loss depend on the batch; the source's networks have it), no
data augmentation, the digits instead of CIFAR-10, and training here (SGD with Nesterov momentum, as in the
source) instead of downloaded weights.
"""

from __future__ import annotations

import torch
from torch import nn

from landscape.infra.validation import check_choice, check_scalar

__all__ = ["ARCHITECTURES", "digits_net", "source_name"]

#: architecture -> the source's network it stands in for
ARCHITECTURES = {
    "resnet": "ResNet-56",
    "densenet": "DenseNet-121",
    "resnet_noskip": "ResNet-56 (w/o skips)",
    "mobilenet": "MobileNetV2",
    "googlenet": "GoogLeNet",
}


class _Residual(nn.Module):
    def __init__(self, w: int, skip: bool):
        super().__init__()
        self.fc1, self.fc2, self.skip = nn.Linear(w, w), nn.Linear(w, w), skip

    def forward(self, x):
        y = self.fc2(torch.relu(self.fc1(x)))
        return torch.relu(x + y if self.skip else y)


class _Dense(nn.Module):
    def __init__(self, w_in: int, growth: int, n_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(w_in + i * growth, growth) for i in range(n_layers))

    def forward(self, x):
        for fc in self.layers:
            x = torch.cat([x, torch.relu(fc(x))], dim=1)
        return x


class _InvertedResidual(nn.Module):
    def __init__(self, w: int, expand: int):
        super().__init__()
        self.expand, self.project = nn.Linear(w, w * expand), nn.Linear(w * expand, w)

    def forward(self, x):
        return x + self.project(torch.relu(self.expand(x)))


class _Inception(nn.Module):
    def __init__(self, w_in: int, b: int):
        super().__init__()
        self.b1 = nn.Linear(w_in, b)
        self.b2 = nn.Sequential(nn.Linear(w_in, b), nn.ReLU(), nn.Linear(b, b))

    def forward(self, x):
        return torch.relu(torch.cat([self.b1(x), self.b2(x)], dim=1))


def _body(name: str, w: int, n_in: int = 64) -> tuple[list[nn.Module], int]:
    stem = [nn.Linear(n_in, w), nn.ReLU()]
    if name in ("resnet", "resnet_noskip"):
        skip = name == "resnet"
        return stem + [_Residual(w, skip), _Residual(w, skip)], w
    if name == "densenet":
        return stem + [_Dense(w, w // 2, 3)], w + 3 * (w // 2)
    if name == "mobilenet":
        return stem + [_InvertedResidual(w, 4), _InvertedResidual(w, 4)], w
    if name == "googlenet":
        return stem + [_Inception(w, w // 2), _Inception(w, w // 2)], w
    raise ValueError(f"name must be one of {sorted(ARCHITECTURES)}, got {name!r}")


def digits_net(name: str, seed: int = 0, width: int = 32, *, dtype=torch.float32, n_in: int = 64,
               n_out: int = 10) -> nn.Sequential:
    """The stand-in ``name`` (a key of :data:`ARCHITECTURES`) on flat 64-pixel inputs, ``width`` units after
    the stem, a linear classifier to 10 logits; PyTorch's default initialisation drawn with ``seed``. Other data:
    ``n_in`` features and ``n_out`` outputs (its classes, or the width of a regression target).

    Parameters
    ----------
    name : str
        Architecture.
    seed : int
        Seed of the initial weights.
    width : int
        Units after the stem (>= 2).
    dtype : torch.dtype
        Parameter dtype.
    n_in, n_out : int, default 64 and 10
        Input width and outputs.

    Returns
    -------
    torch.nn.Sequential

    Examples
    --------
    >>> sum(p.numel() for p in digits_net("resnet").parameters())
    6634
    """
    check_scalar(width, "width", int, min_val=2)
    check_scalar(n_in, "n_in", int, min_val=1)
    check_scalar(n_out, "n_out", int, min_val=1)
    torch.manual_seed(seed)
    layers, w = _body(name, width, n_in)
    return nn.Sequential(*layers, nn.Linear(w, n_out)).to(dtype)


def source_name(name: str) -> str:
    """The source's network that ``name`` stands in for.

    Parameters
    ----------
    name : str
        A key of :data:`ARCHITECTURES`.

    Returns
    -------
    str
    """
    return ARCHITECTURES[check_choice(name, "name", sorted(ARCHITECTURES))]
