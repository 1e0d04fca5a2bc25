r"""Interactive 3-D surfaces (rotate, zoom, hover) for the rendered book, working offline.

A loss plane :math:`L(\theta^* + \alpha d_1 + \beta d_2)` (Li et al.'s eq (12), source 003 Sec. 5.4) or a map of
:math:`|\lambda_{\min}/\lambda_{\max}|` over it is drawn as a Plotly surface. The figure's HTML loads plotly.js
from the book's own static files (``book/_static/plotly/plotly.min.js``, copied from the installed ``plotly``
package by :func:`ensure_plotlyjs`), never from a CDN, so the page works without a network. The static matplotlib
figures and the VTK export (:func:`landscape.surfaces.export.surface_to_vtk`, for ParaView) stay; this is a third view.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from landscape.infra.validation import check_choice

__all__ = ["PLOTLYJS_URL", "InteractiveFigure", "ensure_plotlyjs", "interactive_surface"]

#: Where a chapter page (``_build/html/book/chapters/<chapter>.html``) finds plotly.js: Sphinx copies
#: ``book/_static`` (``html_static_path`` in ``_config.yml``) to ``_build/html/_static``.
PLOTLYJS_URL = "../../_static/plotly/plotly.min.js"


def ensure_plotlyjs(static_dir=None) -> Path:
    """Copy ``plotly.min.js`` from the installed ``plotly`` package into the book's static files (once; again when
    the installed version differs), so the rendered pages load it locally.

    Parameters
    ----------
    static_dir : path, optional
        The static folder; default ``book/_static`` of the project (:func:`landscape.infra.paths.root`). The file goes
        to ``<static_dir>/plotly/plotly.min.js``.

    Returns
    -------
    pathlib.Path
        The copied file.
    """
    import plotly

    from landscape.infra import paths

    src = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    folder = Path(static_dir) if static_dir is not None else paths.root() / "book" / "_static"
    dest = folder / "plotly" / "plotly.min.js"
    if not dest.exists() or dest.stat().st_size != src.stat().st_size or dest.read_bytes() != src.read_bytes():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".partial")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)
    return dest


@dataclass(frozen=True)
class InteractiveFigure:
    """A Plotly ``figure`` and its ``html``, shown as that HTML in a notebook (``_repr_html_``), so the executed
    chapter carries it into the book.

    Parameters
    ----------
    figure : plotly.graph_objects.Figure
        The figure, for further styling or ``write_html``.
    html : str
        A ``<div>`` plus a ``<script src>`` of the local plotly.js (never a CDN).
    """

    figure: object
    html: str

    def _repr_html_(self) -> str:
        return self.html


def interactive_surface(alpha, beta, z, *, title: str = "", zlabel: str = "loss", z_scale: str = "log",
                        colorscale: str = "Viridis", height: int = 520, js_url: str = PLOTLYJS_URL,
                        copy_js: bool = True) -> InteractiveFigure:
    r"""An interactive 3-D surface of ``z`` over the plane :math:`(\alpha, \beta)`: height and colour are ``z``
    (e.g. the training loss of Li et al.'s filter-normalised plane, eq (12), or :math:`|\lambda_{\min} /
    \lambda_{\max}|` of their Fig. 11); rotate, zoom and read values by hovering.

    Parameters
    ----------
    alpha, beta : array_like
        Increasing grid coordinates, shapes (n,) and (m,).
    z : array_like
        (n, m) values, ``z[i, j]`` at ``(alpha[i], beta[j])`` (the layout of
        :func:`landscape.surfaces.export.surface_arrays`); finite.
    title : str
        Figure title.
    zlabel : str
        Name of the height axis.
    z_scale : {"log", "linear"}
        Height axis type; ``"log"`` needs every value of ``z`` > 0 (loss planes of untrained nets span many
        decades).
    colorscale : str
        A Plotly colour scale.
    height : int
        Height of the figure in pixels (> 0).
    js_url : str
        URL of plotly.js as the page sees it (default: the book's static copy, :data:`PLOTLYJS_URL`); a local
        file, never a CDN.
    copy_js : bool
        Copy plotly.js into the book's static files first (:func:`ensure_plotlyjs`).

    Returns
    -------
    InteractiveFigure
        The Plotly figure and its HTML.
    """
    import plotly.graph_objects as go

    a = np.asarray(alpha, dtype=float)
    b = np.asarray(beta, dtype=float)
    Z = np.asarray(z, dtype=float)
    if a.ndim != 1 or a.size < 2 or np.any(np.diff(a) <= 0):
        raise ValueError(f"alpha must be an increasing 1-D grid of >= 2 points, got shape {a.shape}")
    if b.ndim != 1 or b.size < 2 or np.any(np.diff(b) <= 0):
        raise ValueError(f"beta must be an increasing 1-D grid of >= 2 points, got shape {b.shape}")
    if Z.shape != (a.size, b.size):
        raise ValueError(f"z must have shape (len(alpha), len(beta)) = {(a.size, b.size)}, got {Z.shape}")
    if not np.all(np.isfinite(Z)):
        raise ValueError("z must be finite")
    check_choice(z_scale, "z_scale", ("log", "linear"))
    if z_scale == "log" and np.any(Z <= 0):
        raise ValueError("z_scale='log' needs z > 0 everywhere; use z_scale='linear'")
    if not isinstance(height, int | np.integer) or isinstance(height, bool) or height <= 0:
        raise ValueError(f"height must be a positive int, got {height!r}")
    if not isinstance(js_url, str) or not js_url.endswith(".js") or "//" in js_url:
        raise ValueError(f"js_url must be a relative or local path to a .js file (no CDN), got {js_url!r}")
    # Plotly's surface: z[row][col] at (x[col], y[row]), so rows run over beta
    # on a log height axis the colour follows log10(z) too (else a few decades of loss share one colour)
    colour = {"surfacecolor": np.log10(Z).T, "colorbar": {"title": {"text": f"log10 {zlabel}"}}} if z_scale == "log" \
        else {"colorbar": {"title": {"text": zlabel}}}
    surf = go.Surface(x=a, y=b, z=Z.T, colorscale=colorscale, **colour,
                      hovertemplate="α=%{x:.3g}<br>β=%{y:.3g}<br>" + zlabel + "=%{z:.4g}<extra></extra>")
    fig = go.Figure(surf)
    fig.update_layout(title={"text": title}, height=int(height), margin={"l": 0, "r": 0, "t": 40, "b": 0},
                      scene={"xaxis_title": "α", "yaxis_title": "β",
                             "zaxis": {"title": {"text": zlabel}, "type": z_scale}})
    if copy_js:
        ensure_plotlyjs()
    # the div's id from the content (Plotly draws a random one), so a re-executed chapter gives the same output
    h = hashlib.sha256(f"{title}|{zlabel}|{z_scale}|{colorscale}|{height}".encode())
    for arr in (a, b, Z):
        h.update(np.ascontiguousarray(arr).tobytes())
    html = fig.to_html(full_html=False, include_plotlyjs=js_url, include_mathjax=False,
                       div_id=f"surface-{h.hexdigest()[:16]}", config={"displaylogo": False, "responsive": True})
    return InteractiveFigure(fig, html)
