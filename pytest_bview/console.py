"""What the kit's console scripts share: a reader that stops early (`| head`) ends them quietly."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import ParamSpec

P = ParamSpec("P")


def quiet_broken_pipe(main: Callable[P, int]) -> Callable[P, int]:
    """Wrap a console script's `main`: when stdout's reader has gone, end without a traceback.

    As the Python documentation's note on SIGPIPE advises, stdout is pointed at /dev/null so the
    interpreter's final flush does not raise again; the status is 1, like a `cat` cut short.
    """

    @functools.wraps(main)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            code = main(*args, **kwargs)
            sys.stdout.flush()
            return code
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1

    return wrapper
