"""How a chapter's kernel ends: with ``os._exit(0)`` once the exit handlers registered after its start have run.

The runner starts every kernel with ``--IPKernelApp.exec_lines`` calling :func:`install`. Still run: the exit
handlers a run registers (matplotlib's, tqdm's, a chapter's own), joblib's worker pools (shut down before any exit
handler) and the pending ``weakref.finalize`` callbacks (a ``tempfile.TemporaryDirectory`` left open is removed).
Skipped: Python's teardown of every module and object a chapter loaded, which for torch (and ``torch._dynamo``, which
its optimizers import) costs about 1 s of CPU and 2 s of waiting per run, and the kernel's own earlier handlers
(IPython clearing the user namespace and ending its history session, ipykernel closing its sockets; the runner's
kernel manager removes the connection file). The one thing a chapter could lose: the buffered data of a file it
leaves open, which teardown would have flushed. The library writes every file inside a ``with`` block, and so
should a chapter; its outputs have reached the runner before the kernel is asked to shut down.
"""

from __future__ import annotations

import atexit
import os
import weakref

__all__ = ["install"]


def install() -> None:
    """Register ``os._exit(0)`` as an exit handler of this process: every handler registered after it runs first
    (handlers run last in, first out), then the process ends without the interpreter's teardown.

    ``weakref.finalize`` registered its own exit hook when the kernel started, before this one, so it is registered
    again after ``os._exit``: pending finalisers still run. Only for a kernel the runner started: any other process
    would lose its own earlier exit handlers.
    """
    atexit.register(os._exit, 0)
    run_finalisers = getattr(weakref.finalize, "_exitfunc", None)  # CPython's hook; absent elsewhere
    if run_finalisers is not None:
        atexit.register(run_finalisers)
