"""The project's own tests.

pytester's in-process runs drop the modules a run imported; extension modules (NumPy, PyAV) and
requests' cookie classes cannot be imported twice in one process, so they are imported here,
before any in-process run.
"""

import av  # noqa: F401
import numpy  # noqa: F401
import PIL.Image  # noqa: F401

import pytest_bview.media  # noqa: F401
import pytest_bview.target  # noqa: F401
from pytest_bview.simulator.catalog import load_all

load_all()
for _name in ("pytest_bview.simulator.media", "pytest_bview.simulator.rtsp"):
    __import__(_name)
