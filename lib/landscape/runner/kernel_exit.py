"""How a chapter's kernel ends: with ``os._exit(0)`` once the exit handlers registered after its start have run.

The runner starts every kernel with ``--IPKernelApp.exec_lines`` calling :func:`install`. The handlers that still
run are the ones a run registers (joblib's worker pools shut down, matplotlib's); what is skipped is Python's
teardown of every module and object a chapter loaded, which for torch (and ``torch._dynamo``, which its optimizers
import) costs about 1 s of CPU and 2 s of waiting per run, and the kernel's own earlier handlers (IPython clearing
the user namespace and ending its history session, ipykernel closing its sockets; the runner's kernel manager
removes the connection file). Nothing of a run is lost: its tables are written and closed inside its cells, and its
outputs have reached the runner before the kernel is asked to shut down.
"""

from __future__ import annotations

import atexit
import os

__all__ = ["install"]


def install() -> None:
    """Register ``os._exit(0)`` as an exit handler of this process: every handler registered after it runs first
    (handlers run last in, first out), then the process ends without the interpreter's teardown.

    Only for a kernel the runner started: any other process would lose its own earlier exit handlers.
    """
    atexit.register(os._exit, 0)
