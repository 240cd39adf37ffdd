"""Submissions → verdicts: the rules of the catalogue run as Great Expectations suites over whole batches, each
failure mapped back to its sheet and cell."""
