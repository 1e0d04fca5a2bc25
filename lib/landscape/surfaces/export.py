r"""Export a loss surface to VTK for ParaView (Li et al.'s ``h52vtp`` step, source 003, Sec. 5.4).

:func:`surface_to_vtk` writes a VTK XML *structured grid* (``.vts``) with pyevtk: the points are
:math:`(\alpha, \beta, z\cdot\ell(\alpha,\beta))` -- the surface itself, height scaled by ``z_scale`` -- and
every given array (loss, accuracy, :math:`|\lambda_{min}/\lambda_{max}|`, ...) is attached as point data, so
ParaView shows the 3-D surface coloured by any of them without a "warp by scalar" filter. :func:`read_vts`
reads such a file back (raw appended binary, as pyevtk writes it) -- the test's oracle and a check for users.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from landscape.infra.validation import check_finite, check_scalar

__all__ = ["surface_arrays", "surface_to_vtk", "read_vts"]


def surface_arrays(frame: pd.DataFrame, value: str = "loss", split: str = "train"):
    """``(alphas, betas, Z)`` from a tidy :func:`landscape.surfaces.projections.loss_surface` frame, with
    ``Z[i, j]`` the ``value`` at ``(alphas[i], betas[j])`` in ``split``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``alpha, beta, <value>`` (and ``split``).
    value : str
        Column shown as Z.
    split : str
        Split whose rows are used.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        ``alphas``, ``betas`` and ``Z``.
    """
    for col in ("alpha", "beta", value):
        if col not in frame:
            raise ValueError(f"frame: no column {col!r}")
    sub = frame[frame["split"] == split] if "split" in frame else frame
    if sub.empty:
        raise ValueError(f"split {split!r} is not in the frame")
    piv = sub.pivot(index="alpha", columns="beta", values=value)
    return piv.index.to_numpy(float), piv.columns.to_numpy(float), piv.to_numpy(float)


def surface_to_vtk(path, alphas, betas, arrays: Mapping[str, np.ndarray], *, height: str = "loss",
                   z_scale: float = 1.0) -> Path:
    r"""Write the surface :math:`z = z_{scale}\,` ``arrays[height]`` over the grid ``alphas`` x ``betas`` as a
    VTK structured grid; returns the path of the ``.vts`` file (the suffix is added by pyevtk).

    Parameters
    ----------
    path : str or path
        Output path without suffix.
    alphas, betas : array_like
        Grid coordinates.
    arrays : mapping
        ``{name: (len(alphas), len(betas)) array}``, all finite; names are identifiers.
    height : str
        The array that gives the surface's height.
    z_scale : float
        Height multiplier, > 0.

    Returns
    -------
    pathlib.Path
        The written ``.vts`` file.
    """
    from pyevtk.hl import gridToVTK

    a = np.asarray(alphas, dtype=np.float64).reshape(-1)
    b = np.asarray(betas, dtype=np.float64).reshape(-1)
    if not arrays or height not in arrays:
        raise ValueError(f"arrays must be a non-empty mapping containing the height array {height!r}")
    check_finite(check_scalar(z_scale, "z_scale", float, min_val=0, include_boundaries="right"), "z_scale")
    data = {}
    for name, arr in arrays.items():
        v = np.asarray(arr, dtype=np.float64)
        if v.shape != (a.size, b.size):
            raise ValueError(f"arrays[{name!r}] must have shape {(a.size, b.size)}, got {v.shape}")
        check_finite(v, f"arrays[{name!r}]")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(name)):
            raise ValueError(f"arrays: name {name!r} must be an identifier")
        data[str(name)] = np.ascontiguousarray(v[:, :, None])
    A, B = np.meshgrid(a, b, indexing="ij")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = gridToVTK(str(path.with_suffix("")), np.ascontiguousarray(A[:, :, None]),
                    np.ascontiguousarray(B[:, :, None]), z_scale * data[height], pointData=data)
    return Path(out)


def read_vts(path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Read a ``.vts`` written by :func:`surface_to_vtk`.

    Parameters
    ----------
    path : str or path
        The ``.vts`` file.

    Returns
    -------
    (numpy.ndarray, dict)
        ``points`` (nx, ny, 3) and ``{name: (nx, ny) array}``.
    """
    raw = Path(path).read_bytes()
    head, _, rest = raw.partition(b'<AppendedData encoding="raw">')
    start = rest.index(b"_") + 1
    blob = rest[start:]
    root = ET.fromstring(head.decode() + "</VTKFile>")
    if root.get("header_type") != "UInt64" or root.get("byte_order") != "LittleEndian":
        raise ValueError("read_vts: only little-endian UInt64-header files (pyevtk's default) are supported")
    ext = [int(v) for v in root.find("StructuredGrid").get("WholeExtent").split()]
    shape = (ext[1] - ext[0] + 1, ext[3] - ext[2] + 1, ext[5] - ext[4] + 1)

    def block(offset: int) -> np.ndarray:
        nbytes = int(np.frombuffer(blob[offset:offset + 8], dtype="<u8")[0])
        return np.frombuffer(blob[offset + 8:offset + 8 + nbytes], dtype="<f8").reshape(shape, order="F")

    pts_el = root.find(".//Points/DataArray")
    off = int(pts_el.get("offset"))
    pts = np.frombuffer(blob[off + 8:], dtype="<f8", count=3 * int(np.prod(shape)))
    # points are interleaved (x, y, z), the first grid index running fastest
    points = np.transpose(pts.reshape(shape[::-1] + (3,)), (2, 1, 0, 3))[:, :, 0, :]
    arrays = {el.get("Name"): block(int(el.get("offset")))[:, :, 0] for el in root.findall(".//PointData/DataArray")}
    return points, arrays
