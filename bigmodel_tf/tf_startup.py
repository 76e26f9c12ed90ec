"""Keep TensorFlow's C++ start-up lines off the terminal.

TensorFlow 2.21 writes a few lines straight to file descriptor 2 while it is imported
("All log messages before absl::InitializeLog() ...", "Could not find cuda drivers ...",
"oneDNN custom operations are on ..."), whatever ``TF_CPP_MIN_LOG_LEVEL`` says, so they
would stand before every one-line error of the CLI. ``quiet_tensorflow_startup`` hooks the
first ``import tensorflow`` (whoever triggers it: Keras, a stage, a plug-in): the import
runs with file descriptor 2 sent to a temporary file, and afterwards every line of it
except the known start-up notices is written back to stderr. Only the import is filtered;
everything TensorFlow logs later reaches stderr untouched.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
from contextlib import contextmanager

# Notices TensorFlow prints at import on machines without a GPU, TensorRT or AVX builds.
STARTUP_NOTICES = re.compile(
    r"All log messages before absl::InitializeLog\(\)"
    r"|cudart_stub\.cc|cuda_(dnn|fft|blas)\.cc|Could not find cuda drivers"
    r"|oneDNN custom operations are on|TF-TRT Warning|Unable to register cu(DNN|FFT|BLAS)"
    r"|computation placer already registered|This TensorFlow binary is optimized"
    r"|To enable the following instructions|rebuild TensorFlow with the appropriate"
)


@contextmanager
def filtered_stderr(drop: re.Pattern = STARTUP_NOTICES):
    """Send file descriptor 2 to a temporary file; afterwards re-emit the lines not matched."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace").splitlines(True)
                    if not drop.search(line)]
            sys.stderr.write("".join(kept))
            sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """Runs the wrapped loader's ``exec_module`` inside ``filtered_stderr``."""

    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec):
        """Delegate module creation to the real loader."""
        return self._loader.create_module(spec)

    def exec_module(self, module):
        """Import the real module with its start-up notices filtered out."""
        with filtered_stderr():
            self._loader.exec_module(module)


class _TensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` the normal way, then wraps its loader; a one-shot hook."""

    def find_spec(self, name, path, target=None):
        """The ordinary spec of ``tensorflow`` with a filtering loader; None for the rest."""
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow_startup() -> None:
    """Filter TensorFlow's import-time C++ notices from stderr (no-op once it is imported)."""
    if "tensorflow" in sys.modules or any(isinstance(f, _TensorFlowFinder)
                                          for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _TensorFlowFinder())
