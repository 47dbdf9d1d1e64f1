"""Per-firmware conformance reports: collection (hooks), data (model), pages (render), runs on disk
(runs), comparisons (diff), integrity (verify), known deviations (expectations), `bview-report` (cli)."""
