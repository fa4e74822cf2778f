"""What a command prints besides its result: only what concerns the user, unless ``-v`` asks for more.

Loading the NLU model pulls in TensorFlow, Rasa, SQLAlchemy 1.4, matplotlib (pyparsing)
and jieba, and each of them talks on its own channel: TensorFlow's C++ logger reads an
environment variable once, at import; Rasa, SQLAlchemy and pyparsing raise Python warnings;
jieba attaches its own DEBUG handler when it is imported; bm25s logs at DEBUG. None of it
concerns someone asking a question, so a quiet run closes each channel at its source, before
those libraries are imported. Warnings from this project's own packages (a broken synonyms
file, a catalogue row skipped) and errors from anyone still reach stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import TextIO

# top-level packages of this project: their warnings concern whoever runs the command
PROJECT_PACKAGES = frozenset(
    {"accounts", "appeals", "bot", "cli", "connectors", "conversations", "gateway", "knowledge", "storage"}
)
VERBOSE_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
QUIET_FORMAT = "%(levelname)s %(name)s: %(message)s"
QUIET_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow's C++ logger (TensorRT, cuInit), read once at import
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",  # SQLAlchemy 1.4's "not compatible with 2.0" banner
}

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_verbose = False
_show_warning = warnings.showwarning


class ConcernsUser(logging.Filter):
    """Lets through errors from anyone, and warnings from this project's own packages."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        return record.levelno >= logging.WARNING and record.name.split(".", 1)[0] in PROJECT_PACKAGES


def configure(verbose: bool) -> None:
    """Set up logging and warnings for one command; call before the command imports its libraries."""
    global _verbose
    _verbose = verbose
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format=VERBOSE_FORMAT)
        return
    # set, not defaulted: an inherited value (jax sets TF_CPP_MIN_LOG_LEVEL=1 in whoever imports it) must
    # not make a quiet run talk; -v leaves the environment as it is
    os.environ.update(QUIET_ENVIRONMENT)
    # Rasa, TensorFlow and SciPy put their own filters in front of any we add, so the warnings are
    # dropped where they are shown instead: library deprecations never concern the user
    warnings.simplefilter("ignore")
    warnings.showwarning = _show_project_warning
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(QUIET_FORMAT))
    handler.addFilter(ConcernsUser())
    root = logging.getLogger()
    root.addHandler(handler)  # before TensorFlow's import, so it adds no handler of its own
    root.setLevel(logging.WARNING)
    _quiet_jieba()


def _show_project_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Show a Python warning raised by this project's code; drop those raised inside libraries."""
    path = Path(filename)  # "<frozen importlib._bootstrap>" is no file of ours
    if (
        path.is_absolute()
        and path.is_relative_to(PROJECT_ROOT)
        and not path.is_relative_to(PROJECT_ROOT / ".venv")
    ):
        _show_warning(message, category, filename, lineno, file, line)


def _quiet_jieba() -> None:
    """jieba sets its logger to DEBUG with its own stderr handler at import: import it now and lower it."""
    try:
        import jieba
    except ImportError:  # a command that never segments text
        return
    jieba.setLogLevel(logging.WARNING)


def is_verbose() -> bool:
    """Whether ``-v`` was given: libraries that log on their own (Rasa's structlog) follow it."""
    return _verbose
