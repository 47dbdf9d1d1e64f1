"""pytest-bview: conformance test kit for B-View 2 REST API cameras."""

__version__ = "0.1.0"
