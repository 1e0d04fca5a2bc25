"""Small dense linear-algebra conventions shared by the library's eigensolvers."""

from __future__ import annotations

import numpy as np


def fix_signs(V: np.ndarray) -> np.ndarray:
    """Deterministic eigenvector signs (scikit-learn's rule): in each column of ``V`` the entry of largest magnitude
    is made positive (the first such entry on ties, as ``argmax`` picks it).

    Examples
    --------
    >>> import numpy as np
    >>> from landscape.linalg import fix_signs
    >>> fix_signs(np.array([[0.6, 0.1], [-0.8, -0.9]]))  # both columns flipped: -0.8 and -0.9 were the largest
    array([[-0.6, -0.1],
           [ 0.8,  0.9]])
    """
    idx = np.argmax(np.abs(V), axis=0)
    signs = np.sign(V[idx, np.arange(V.shape[1])])
    signs[signs == 0] = 1.0
    return V * signs
