"""The reference camera: a conformant B-View 2 device, runnable as `bview-sim`."""
