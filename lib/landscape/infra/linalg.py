"""Small dense linear-algebra conventions shared by the library's eigensolvers."""

from __future__ import annotations

import contextlib

import numpy as np


def fix_signs(V: np.ndarray) -> np.ndarray:
    """Deterministic eigenvector signs (scikit-learn's rule): in each column of ``V`` the entry of largest magnitude
    is made positive (the first such entry on ties, as ``argmax`` picks it).

    Parameters
    ----------
    V : numpy.ndarray, shape (n, k)
        Eigenvectors as columns.

    Returns
    -------
    numpy.ndarray, shape (n, k)
        ``V`` with some columns negated (a new array).

    Examples
    --------
    >>> import numpy as np
    >>> from landscape.infra.linalg import fix_signs
    >>> fix_signs(np.array([[0.6, 0.1], [-0.8, -0.9]]))  # both columns flipped: -0.8 and -0.9 were the largest
    array([[-0.6, -0.1],
           [ 0.8,  0.9]])
    """
    idx = np.argmax(np.abs(V), axis=0)
    signs = np.sign(V[idx, np.arange(V.shape[1])])
    signs[signs == 0] = 1.0
    return V * signs


@contextlib.contextmanager
def limit_threads(threads: int | None):
    """Run the block with ``threads`` BLAS/OpenMP threads (threadpoolctl) and ``threads`` torch threads, restoring
    both afterwards; ``None`` leaves the settings alone. Many small SVDs and products run faster on one thread than
    on two on the project's machines, and one thread per worker keeps parallel runs from oversubscribing the cores.

    Parameters
    ----------
    threads : int or None
        Threads inside the block, a positive integer; None changes nothing.

    Yields
    ------
    None

    Examples
    --------
    >>> import torch
    >>> from landscape.infra.linalg import limit_threads
    >>> before = torch.get_num_threads()
    >>> with limit_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    if threads is None:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads: expected a positive integer or None, got {threads!r}")
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(old)
