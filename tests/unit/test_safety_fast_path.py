"""The sheet scan's fast path (regular expressions over a plain sheet) against the full streaming scan.

The fast path may only ever say "within limits, no formula" when the full scan would say the same; whenever it
cannot vouch for a sheet, the full scan decides. Generated sheets mix what Excel writes with what an attacker
might: cells without ``r``, single-quoted or spaced attributes, a decoy ``r`` inside another attribute's value,
prefixed elements, comments and CDATA holding fake cells, formulas with and without cached values, cells past
the limits.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.read import safety
from ingest.read.limits import Limits
from ingest.read.safety import Refused, _plain_sheet_within_limits, inspect_workbook
from ingest.tell.official_forms import Quirks, form_bytes
from ingest.text import column_letter
from tests.unit.office_files import rewrite_zip, xlsx

SHEET1 = "xl/worksheets/sheet1.xml"
LIMITS = Limits(max_rows=60, max_columns=12)
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
BASE = xlsx(lambda wb: wb.add_worksheet("Sheet1").write("A1", 1))


def verdict(data: bytes, monkeypatch: pytest.MonkeyPatch, *, fast: bool) -> object:
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(safety, "_FAST_SCAN_MAX_BYTES", -1)
        try:
            got = inspect_workbook(data, LIMITS)
        except Refused as r:
            return ("refused", r.problem)
        return ("read", got.kind, dict(got.uncached))


def with_sheet(xml: str) -> bytes:
    return rewrite_zip(BASE, lambda name, body: xml.encode() if name == SHEET1 else body)


ref_style = st.sampled_from(["r", "r", "r", "none", "lower", "single", "spaced", "decoy", "prefixed"])
content = st.sampled_from(["v", "v", "is", "empty", "f+v", "f", "f+blank-v", "str-f"])


@st.composite
def cells(draw: st.DrawFn) -> str:
    row = draw(st.integers(1, 70))
    col = draw(st.integers(0, 14))
    ref = f"{column_letter(col)}{row}"
    style, body = draw(ref_style), draw(content)
    attrs = {"r": f' r="{ref}"', "none": "", "lower": f' r="{ref.lower()}"', "single": f" r='{ref}'",
             "spaced": f' r = "{ref}"', "decoy": f""" x='a r="A1"' r="{ref}\"""", "prefixed": f' r="{ref}"'}[style]
    inner = {"v": "<v>1</v>", "is": "<is><t>x</t></is>", "empty": "", "f+v": "<f>1+1</f><v>2</v>",
             "f": "<f>1+1</f>", "f+blank-v": "<f>1+1</f><v></v>", "str-f": "<f>A1</f><v></v>"}[body]
    t = ' t="str"' if body == "str-f" else ' t="inlineStr"' if body == "is" else ""
    tag = "x:c" if style == "prefixed" else "c"
    return f"<{tag}{attrs}{t} s=\"1\">{inner}</{tag}>" if inner else f"<{tag}{attrs} s=\"1\"/>"


@st.composite
def sheets(draw: st.DrawFn) -> str:
    rows = draw(st.lists(st.lists(cells(), max_size=4), min_size=1, max_size=6))
    noise = draw(st.sampled_from(["", '<!-- <c r="ZZ99"><v>1</v></c> -->', "<!-- <c> -->"]))
    body = "".join(f'<row r="{i + 1}">{"".join(r)}</row>' for i, r in enumerate(rows))
    xmlns_x = ' xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {NS}{xmlns_x}>{noise}'
            f"<sheetData>{body}</sheetData></worksheet>")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(xml=sheets())
def test_fast_path_and_full_scan_agree(xml: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = with_sheet(xml)
    assert verdict(data, monkeypatch, fast=True) == verdict(data, monkeypatch, fast=False)


@pytest.mark.parametrize(("xml", "vouched"), [
    ('<c r="A1" s="1"><v>1</v></c><c r="L60"><v>2</v></c>', True),
    ('<c r="M1"><v>1</v></c>', False),  # column 13 of 12
    ('<c r="A61"/>', False),  # an empty cell past the limit: the full scan decides (it would allow it)
    ('<c r="A1"><v>1</v></c><c><v>2</v></c>', False),  # a cell placed without r
    ("""<c x='a r="A1"' r="XFD1048576"><v>1</v></c>""", False),  # single quotes: not plain
    ('<c r="A1"><f>1+1</f><v>2</v></c>', False),  # any formula
    ('<x:c r="A1"><v>1</v></x:c>', False),  # a prefixed element
    ('<c r="A0"><v>1</v></c>', False),  # row 0 is no row
])
def test_what_the_fast_path_vouches_for(xml: str, vouched: bool) -> None:
    assert _plain_sheet_within_limits(f"<worksheet><sheetData><row>{xml}</row></sheetData></worksheet>".encode(),
                                      LIMITS) is vouched


def test_a_cell_far_away_behind_a_decoy_is_refused() -> None:
    cell = """<c x='a r="A1"' r="XFD1048576"><v>1</v></c>"""
    xml = f'<worksheet {NS}><sheetData><row r="1">{cell}</row></sheetData></worksheet>'
    with pytest.raises(Refused) as got:
        inspect_workbook(with_sheet(xml), LIMITS)
    assert (got.value.problem.rule, got.value.problem.where.cell) == ("sheet-too-large", "XFD1048576")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_sheet_in_utf16_is_scanned_in_full(encoding: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The patterns read ASCII-compatible bytes: in UTF-16 they would see no cell at all, and vouch for it."""
    xml = (f'<?xml version="1.0" encoding="{encoding.upper()}"?><worksheet {NS}><sheetData><row r="1">'
           f'<c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>')
    data = rewrite_zip(BASE, lambda name, body: xml.encode(encoding) if name == SHEET1 else body)
    assert not _plain_sheet_within_limits(xml.encode(encoding), LIMITS)
    got = verdict(data, monkeypatch, fast=True)
    assert got == verdict(data, monkeypatch, fast=False)
    problem = got[1]
    assert (problem.rule, problem.where.sheet, problem.where.cell) == ("sheet-too-large", "Sheet1", "XFD1048576") \
        or problem.rule == "file-damaged"


def test_the_forms_we_send_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every form, as rendered plainly and with the layout quirks districts send (formulas aside), is vouched
    for: the fast path is the common path, not a branch that never runs."""
    from ingest.catalogue import load_catalogue

    calls: list[bool] = []
    real = safety._plain_sheet_within_limits
    monkeypatch.setattr(safety, "_plain_sheet_within_limits", lambda xml, lim: calls.append(real(xml, lim)) or
                        calls[-1])
    for form in load_catalogue().forms:
        for quirks in (Quirks(), Quirks(extra_rows_before=2, extra_sheet_first=True, unknown_row="99")):
            inspect_workbook(form_bytes(form, options=quirks).data, Limits())
    assert calls and all(calls)
