"""Raw tables → marts: the dbt project built over the warehouse, the reporting calendar of the day, and the
analysts' published copy."""
