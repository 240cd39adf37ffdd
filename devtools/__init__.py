"""Development tools, not the library: the demo inbox and the generators of everything generated from the
catalogue. They run from the repository (``python -m devtools.<tool>``, ``make generate``, ``make demo``) and are
not installed with the ``ingest`` package."""
