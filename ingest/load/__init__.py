"""Load package → raw tables: what a load parsed and checked, written into the warehouse in one transaction."""
