"""Archive → cell grids: a received file opened safely (its cost bounded before it is read, in worker processes
with time and memory caps), its text decoded from old Vietnamese fonts, its numbers read as typed."""
