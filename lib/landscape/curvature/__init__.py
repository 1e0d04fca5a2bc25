"""Curvature of a loss: Hessian operators and eigensolvers, SGD noise covariance, spectral outliers."""
