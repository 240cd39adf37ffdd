"""The Vietnamese paragraph of the province report: sentences of ``province_report.yaml`` filled with its numbers.

Numbers are written the Vietnamese way (thousands with ``.``, decimals with ``,``: ``23.000``, ``1.234,5``,
``110,5%``) so that the department can paste the paragraph into its own report. The sentences, and which rows of
the form they quote, are data (``ingest/catalogue/province_report.yaml``); nothing here knows an indicator.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ingest.tell.official_forms import format_vn_number

log = logging.getLogger(__name__)

_FIELD = re.compile(r"\{([^{}]+)\}")
_ROW_FIELD = re.compile(r"^row_(\w+)\.(period|ytd|plan|prev_ytd|pct_of_plan|change)$")
_RATE_FIELD = re.compile(r"^rate_(\w+)$")


@dataclass(frozen=True)
class ProvinceNumbers:
    """One row of the province report (``marts.mart_province_indicator``): its four numbers and its two rates.

    pct_of_plan and change_vs_prev_year are shares (``1.105`` = 110,5%, ``0.052`` = +5,2%), computed in the mart
    from the province's sums."""

    plan_year: float | None = None
    value: float | None = None
    value_ytd: float | None = None
    value_prev_year_ytd: float | None = None
    pct_of_plan: float | None = None
    change_vs_prev_year: float | None = None


@dataclass(frozen=True)
class Rate:
    """A rate of a domain's paragraph: numerator row / denominator row, both at ``measure`` (period | ytd)."""

    numerator: str
    denominator: str
    measure: str = "period"


def _one_decimal(value: float) -> float:
    """Rounded to one decimal half up, as a person rounds (``6.25`` → ``6.3``; ``round()`` would give ``6.2``)."""
    return float(Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def format_number(value: float) -> str:
    """``23000`` → ``23.000``, ``1234.56`` → ``1.234,6``, ``12.0`` → ``12``: at most one decimal, Vietnamese style."""
    rounded = _one_decimal(value)
    return format_vn_number(int(rounded) if rounded.is_integer() else rounded)


def format_percent(share: float) -> str:
    """A share as a Vietnamese percentage: ``1.105`` → ``110,5%``, ``0.25`` → ``25%``."""
    return f"{format_number(share * 100)}%"


def format_change(change: float) -> str:
    """A relative change vs last year: ``0.052`` → ``tăng 5,2%``, ``-0.031`` → ``giảm 3,1%``, ``0`` → ``không đổi``."""
    rounded = _one_decimal(abs(change) * 100)
    if rounded == 0:
        return "không đổi"
    return f"{'tăng' if change > 0 else 'giảm'} {format_number(rounded)}%"


def _row_field(numbers: ProvinceNumbers, attribute: str) -> str | None:
    raw = {
        "period": numbers.value, "ytd": numbers.value_ytd, "plan": numbers.plan_year,
        "prev_ytd": numbers.value_prev_year_ytd, "pct_of_plan": numbers.pct_of_plan,
        "change": numbers.change_vs_prev_year,
    }[attribute]
    if raw is None:
        return None
    if attribute == "pct_of_plan":
        return format_percent(raw)
    if attribute == "change":
        return format_change(raw)
    return format_number(raw)


def _rate(rate: Rate, rows: Mapping[str, ProvinceNumbers]) -> str | None:
    def at(code: str) -> float | None:
        numbers = rows.get(code)
        if numbers is None:
            return None
        return numbers.value_ytd if rate.measure == "ytd" else numbers.value

    numerator, denominator = at(rate.numerator), at(rate.denominator)
    if numerator is None or not denominator:
        return None
    return format_percent(numerator / denominator)


def field_text(field: str, period_label: str, rows: Mapping[str, ProvinceNumbers],
               rates: Mapping[str, Rate], texts: Mapping[str, str] | None = None) -> str | None:
    """The text of one ``{field}`` of a sentence; None when its number is not known. ``texts``: fields given as
    they are (the coverage counts). An unknown field name is a mistake in the YAML: ValueError."""
    if field == "period_label":
        return period_label
    if texts and field in texts:
        return texts[field]
    m = _ROW_FIELD.match(field)
    if m:
        numbers = rows.get(m.group(1))
        return None if numbers is None else _row_field(numbers, m.group(2))
    m = _RATE_FIELD.match(field)
    if m and m.group(1) in rates:
        return _rate(rates[m.group(1)], rows)
    raise ValueError(f"province_report.yaml: unknown field {{{field}}} in a narrative sentence")


def paragraph(sentences: list[str], period_label: str, rows: Mapping[str, ProvinceNumbers],
              rates: Mapping[str, Rate] | None = None, texts: Mapping[str, str] | None = None) -> str:
    """The sentences with their fields filled in, joined; a sentence with a number not known is left out.
    ``texts``: more fields, given as they are written (e.g. ``units_counted``)."""
    out = []
    for sentence in sentences:
        filled = {f: field_text(f, period_label, rows, rates or {}, texts) for f in _FIELD.findall(sentence)}
        unknown = sorted(f for f, t in filled.items() if t is None)
        if unknown:
            log.info("narrative: sentence left out, no number for %s: %s", ", ".join(unknown), sentence[:60])
            continue
        out.append(_FIELD.sub(lambda m, done=filled: done[m.group(1)], sentence))
    return " ".join(out)
