"""Test-harness code of the project's own tests and benchmarks (fuzzers); never imported by the camera or the kit.

It sits above both: it drives the reference camera (`pytest_bview.simulator`) with the kit's client and checks.
"""
