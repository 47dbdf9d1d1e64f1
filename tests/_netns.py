"""Network namespaces for the tests that need real hosts (imported as tests._netns): two namespaces joined by a
veth pair, removed again whatever happens. Tests talk only to these hosts and to loopback."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence

import pytest

needs_netns = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None,
    reason="needs root and iproute2 `ip` to create network namespaces and a veth pair",
)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def veth_pair(cam_addr: str, peer_addr: str, routes: Sequence[str] = ()) -> Iterator[tuple[str, str]]:
    """(camera namespace, peer namespace), joined by a veth pair: `cam_addr` and `peer_addr` ("a.b.c.d/len") on
    its two ends, and each of `routes` ("default", "224.0.0.0/4") on-link through it in both namespaces."""
    tag = uuid.uuid4().hex[:6]
    cam, peer = f"bvc{tag}", f"bvp{tag}"
    try:
        ip("netns", "add", cam)
        ip("netns", "add", peer)
        ip("link", "add", f"vc{tag}", "netns", cam, "type", "veth", "peer", "name", f"vp{tag}", "netns", peer)
        for ns, dev, addr in ((cam, f"vc{tag}", cam_addr), (peer, f"vp{tag}", peer_addr)):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "addr", "add", addr, "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
            for route in routes:
                ip("-n", ns, "route", "add", route, "dev", dev)
        yield cam, peer
    finally:
        for ns in (cam, peer):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
