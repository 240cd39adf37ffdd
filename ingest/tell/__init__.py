"""Marts → people: alerts to units and the province, feedback workbooks, the status page, the summary, and the
official forms written out."""
