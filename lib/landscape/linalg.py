"""Small dense linear-algebra conventions shared by the library's eigensolvers."""

from __future__ import annotations

import numpy as np


def fix_signs(V: np.ndarray) -> np.ndarray:
    """Deterministic eigenvector signs (scikit-learn's rule): in each column of ``V`` the entry of largest magnitude
    is made positive (the first such entry on ties, as ``argmax`` picks it)."""
    idx = np.argmax(np.abs(V), axis=0)
    signs = np.sign(V[idx, np.arange(V.shape[1])])
    signs[signs == 0] = 1.0
    return V * signs
