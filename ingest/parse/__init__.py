"""Cell grids → a submission: the form, the unit, the period and every number with its cell, found by content."""
