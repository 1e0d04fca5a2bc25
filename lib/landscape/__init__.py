"""landscape: loss landscapes of neural networks, the library behind the book.

Modules: data, models, recording (the spine); covariance, diffusion, manifold (SGD noise and diffusion maps);
hessian, projections, toys, approximation (curvature and loss surfaces); linalg (shared eigenvector sign rule);
results, plotting, runner (the book).
See docs/architecture.md for the map.
"""

__version__ = "0.1.0"
