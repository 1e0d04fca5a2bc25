"""Geometry of the loss: linearisation, critical points, level sets, symmetries, random-matrix spectra."""
