"""pytest-bview: conformance test kit for B-View 2 REST API cameras.

PYTEST_DONT_REWRITE: `bview-conformance` imports this package before pytest starts, so pytest cannot
rewrite it and would warn on every run; the kit's checks do not rely on assert rewriting.
"""

__version__ = "0.1.0"
