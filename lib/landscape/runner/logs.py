"""The runner's messages through stdlib :mod:`logging` (logger ``landscape``), and the command line's handler.

The runner and the command line never ``print`` progress: they log to ``logging.getLogger("landscape")`` (its
children, e.g. ``landscape.runner``). A library caller sees nothing unless it configures logging or passes a
``log`` callable (``execute(..., log=lines.append)`` receives the same messages as plain strings). The command
line installs one handler (:func:`configure`): progress (INFO, and DEBUG with ``-v``) on stdout as
``[landscape] message``; warnings (``[landscape] warning: ...``) and errors (``error: ...``, one line) on stderr.
``-q`` keeps only warnings and errors.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

LOGGER_NAME = "landscape"
log = logging.getLogger(LOGGER_NAME)


class _Handler(logging.Handler):
    """Writes INFO and below to ``sys.stdout``, WARNING and above to ``sys.stderr``, looked up at each record (so
    that redirected or captured streams, e.g. pytest's, are honoured).
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr if record.levelno >= logging.WARNING else sys.stdout
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - logging must never raise (stdlib convention)
            self.handleError(record)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            return f"error: {message}"
        if record.levelno >= logging.WARNING:
            return f"[landscape] warning: {message}"
        return f"[landscape] {message}"


def level_of(verbosity: int) -> int:
    """The logging level of a verbosity: ``-1`` or less (``-q``) WARNING, ``0`` INFO, ``1`` or more (``-v``) DEBUG.

    Parameters
    ----------
    verbosity : int
        ``-q`` counts -1, ``-v`` counts +1.

    Returns
    -------
    int
        A :mod:`logging` level.

    >>> level_of(-1) == logging.WARNING, level_of(0) == logging.INFO, level_of(2) == logging.DEBUG
    (True, True, True)
    """
    if not isinstance(verbosity, int) or isinstance(verbosity, bool):
        raise ValueError(f"verbosity must be an int, got {verbosity!r}")
    return logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG


def configure(level: int = logging.INFO) -> logging.Logger:
    """Install the command line's handler on the ``landscape`` logger (replacing an earlier one) at ``level``.

    Parameters
    ----------
    level : int
        A :mod:`logging` level (:func:`level_of`).

    Returns
    -------
    logging.Logger
        The ``landscape`` logger.
    """
    if level not in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        raise ValueError(f"level must be a logging level (DEBUG, INFO, WARNING, ERROR, CRITICAL), got {level!r}")
    for handler in [h for h in log.handlers if isinstance(h, _Handler)]:
        log.removeHandler(handler)
    handler = _Handler()
    handler.setFormatter(_Formatter())
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False  # one line per message, whatever the root logger does
    return log


def configured_level() -> int | None:
    """The level the command line configured (None when :func:`configure` was not called in this process): a
    worker process is configured the same way.

    Returns
    -------
    int or None
        A :mod:`logging` level or None.
    """
    return log.level if any(isinstance(h, _Handler) for h in log.handlers) else None


def emitter(log_fn: Callable[[str], object] | None, name: str = "landscape.runner") -> Callable[..., None]:
    """``say(message, level=logging.INFO)``: to the logger ``name``, or to ``log_fn`` when one is given (as a
    plain string; a warning starts with "warning:", an error with "error:", DEBUG is dropped).

    Parameters
    ----------
    log_fn : callable or None
        A callable taking one string (e.g. ``list.append``), or None for :mod:`logging`.
    name : str
        The logger used when ``log_fn`` is None.

    Returns
    -------
    callable
        ``say(message, level=logging.INFO)``.
    """
    if log_fn is None:
        logger = logging.getLogger(name)

        def say(message: str, level: int = logging.INFO) -> None:
            logger.log(level, message)
    else:
        def say(message: str, level: int = logging.INFO) -> None:
            if level >= logging.ERROR:
                log_fn(f"error: {message}")
            elif level >= logging.WARNING:
                log_fn(f"warning: {message}")
            elif level >= logging.INFO:
                log_fn(message)
    return say
