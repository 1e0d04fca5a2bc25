"""Interactive 3-D surfaces for the book (landscape.infra.interactive): exact data, a local plotly.js, no CDN."""

import re

import numpy as np
import pytest

pytest.importorskip("plotly")

from landscape.infra import interactive  # noqa: E402


def _grid():
    a, b = np.linspace(-1.0, 1.0, 5), np.linspace(-0.5, 0.5, 3)
    Z = np.exp(a[:, None] ** 2 + 2.0 * b[None, :] ** 2) + a[:, None]  # not symmetric: a transpose would show
    return a, b, Z


def test_the_surface_carries_the_plane_exactly():
    a, b, Z = _grid()
    f = interactive.interactive_surface(a, b, Z, title="plane", copy_js=False)
    tr = f.figure.data[0]
    assert np.array_equal(np.asarray(tr.x), a) and np.array_equal(np.asarray(tr.y), b)
    # Plotly's z[row][col] is at (x[col], y[row]): row j, column i is Z[i, j]
    zz = np.asarray(tr.z)
    assert zz.shape == (b.size, a.size)
    assert all(zz[j, i] == Z[i, j] for i in range(a.size) for j in range(b.size))
    assert np.array_equal(np.asarray(tr.surfacecolor), np.log10(Z).T)  # colour follows the log height
    assert f.figure.layout.scene.zaxis.type == "log"
    lin = interactive.interactive_surface(a, b, Z - 10.0, z_scale="linear", copy_js=False)
    assert lin.figure.data[0].surfacecolor is None and lin.figure.layout.scene.zaxis.type == "linear"


def test_html_loads_the_local_plotlyjs_and_nothing_remote():
    a, b, Z = _grid()
    f = interactive.interactive_surface(a, b, Z, title="plane", copy_js=False)
    srcs = re.findall(r'<script[^>]*src="([^"]+)"', f.html)
    assert srcs == [interactive.PLOTLYJS_URL]
    assert "http://" not in f.html and "https://" not in f.html
    assert f._repr_html_() == f.html
    again = interactive.interactive_surface(a, b, Z, title="plane", copy_js=False)
    assert again.html == f.html  # deterministic: a re-executed chapter gives the same output
    other = interactive.interactive_surface(a, b, Z + 1.0, title="plane", copy_js=False)
    assert other.html != f.html and re.findall(r'id="(surface-[0-9a-f]+)"', other.html) != re.findall(
        r'id="(surface-[0-9a-f]+)"', f.html)


def test_ensure_plotlyjs_copies_the_installed_bundle(tmp_path):
    from pathlib import Path

    import plotly

    src = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    dest = interactive.ensure_plotlyjs(tmp_path)
    assert dest == tmp_path / "plotly" / "plotly.min.js"
    assert dest.read_bytes() == src.read_bytes()
    mtime = dest.stat().st_mtime_ns
    assert interactive.ensure_plotlyjs(tmp_path) == dest and dest.stat().st_mtime_ns == mtime  # not rewritten
    dest.write_bytes(b"stale")
    assert interactive.ensure_plotlyjs(tmp_path).read_bytes() == src.read_bytes()


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"alpha": np.array([0.0, -1.0, 1.0, 2.0, 3.0])}, "alpha"),
    ({"beta": np.zeros((3, 1))}, "beta"),
    ({"z": np.ones((3, 5))}, "z must have shape"),
    ({"z": np.full((5, 3), np.nan)}, "z must be finite"),
    ({"z": np.zeros((5, 3))}, "z_scale"),
    ({"z_scale": "cubic"}, "z_scale"),
    ({"height": 0}, "height"),
    ({"js_url": "https://cdn.plot.ly/plotly-3.0.0.min.js"}, "js_url"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    a, b, Z = _grid()
    args = {"alpha": a, "beta": b, "z": Z, **kwargs}
    with pytest.raises(ValueError, match=name):
        interactive.interactive_surface(args.pop("alpha"), args.pop("beta"), args.pop("z"), copy_js=False, **args)
