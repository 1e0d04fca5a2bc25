"""landscape: loss landscapes of neural networks, the library behind the book.

Modules: data, models, recording, covariance, diffusion, hessian, projections, spectra, results,
plotting, runner. See docs/architecture.md for the map.
"""

__version__ = "0.1.0"
