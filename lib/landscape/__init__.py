"""landscape: loss landscapes of neural networks, the library behind the book.

Packages, in layers (each may import the ones after it, never those before; ``tests/test_layout.py`` checks it):
``runner`` (the book machinery), ``studies`` (each chapter's own analysis), the tools ``surfaces``, ``geometry``,
``noise``, ``diffusion``, then ``curvature``, ``nets`` and ``infra``. ``landscape.data``, ``models``, ``recording``,
``covariance``, ``hessian``, ``projections``, ``spectra``, ``linearise``, ``symmetry``, ``plotting`` and
``results`` are the stable public paths of the design; each re-exports its module. See docs/architecture.md.
"""

__version__ = "0.1.0"
