"""Helpers shared by the project's tests (imported as tests._camera; the repository root is on sys.path)."""

from __future__ import annotations


def camera_args(cam: object, *extra: str) -> list[str]:
    """pytest options that point a session at a running built-in camera (a CameraThread)."""
    ports = cam.ports  # type: ignore[attr-defined]
    return [
        "--bview-host", "127.0.0.1", "--bview-port", str(ports["http"]), "--bview-rtsp-port", str(ports["rtsp"]),
        "--bview-time-scale", "0.01", "-p", "no:cacheprovider", *extra,
    ]  # fmt: skip
