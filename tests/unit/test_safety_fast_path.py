"""The sheet scan's fast path (regular expressions over a plain sheet) against the full streaming scan.

The fast path may only ever say "within limits, no formula" when the full scan would say the same; whenever it
cannot vouch for a sheet, the full scan decides. Generated sheets mix what Excel writes with what an attacker
might: cells without ``r``, single-quoted or spaced attributes, a decoy ``r`` inside another attribute's value,
prefixed elements, comments and CDATA holding fake cells, formulas with and without cached values, cells past
the limits.
"""

from __future__ import annotations

from array import array

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
LIMITS = Limits(max_rows=60, max_columns=12, max_text_chars=16)
ROOMY = Limits(max_rows=100, max_columns=20, max_text_chars=16)
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
STRINGS = ["x", "hello", "y" * 40_000]  # shared strings 0, 1 and 2 (longer than a cell may hold)
SST = (f'<sst {NS} count="3" uniqueCount="3">' + "".join(f"<si><t>{t}</t></si>" for t in STRINGS) + "</sst>").encode()
BASE = rewrite_zip(xlsx(lambda wb: wb.add_worksheet("Sheet1").write_string(0, 0, "x")),
                   lambda name, body: SST if name == "xl/sharedStrings.xml" else body)
LENGTHS = array("q", map(len, STRINGS))


def verdict(data: bytes, monkeypatch: pytest.MonkeyPatch, *, fast: bool, limits: Limits = LIMITS) -> object:
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(safety, "_FAST_SCAN_MAX_BYTES", -1)
        try:
            got = inspect_workbook(data, limits)
        except Refused as r:
            return ("refused", r.problem)
        return ("read", got.kind, dict(got.uncached))


def with_sheet(xml: str) -> bytes:
    return rewrite_zip(BASE, lambda name, body: xml.encode() if name == SHEET1 else body)


ref_style = st.sampled_from(["r", "r", "r", "none", "lower", "single", "spaced", "decoy", "prefixed"])
content = st.sampled_from(["v", "v", "is", "empty", "f+v", "f", "f+blank-v", "str-f", "s0", "s1", "s1", "s2", "s9",
                           "long-v", "entity-v", "long-f"])


@st.composite
def cells(draw: st.DrawFn) -> str:
    row = draw(st.integers(1, 70))
    col = draw(st.integers(0, 14))
    ref = f"{column_letter(col)}{row}"
    style, body = draw(ref_style), draw(content)
    attrs = {"r": f' r="{ref}"', "none": "", "lower": f' r="{ref.lower()}"', "single": f" r='{ref}'",
             "spaced": f' r = "{ref}"', "decoy": f""" x='a r="A1"' r="{ref}\"""", "prefixed": f' r="{ref}"'}[style]
    inner = {"v": "<v>1</v>", "is": "<is><t>x</t></is>", "empty": "", "f+v": "<f>1+1</f><v>2</v>",
             "f": "<f>1+1</f>", "f+blank-v": "<f>1+1</f><v></v>", "str-f": "<f>A1</f><v></v>",
             "s0": "<v>0</v>", "s1": "<v>1</v>", "s2": "<v>2</v>", "s9": "<v>9</v>",
             "long-v": "<v>1234567890123</v>", "entity-v": "<v>&amp;&lt;</v>",
             "long-f": f"<f>{'1+' * 4100}1</f><v>4101</v>"}[body]
    t = (' t="str"' if body == "str-f" else ' t="inlineStr"' if body == "is" else ' t="s"' if body[:1] == "s"
         and body[1:].isdigit() else ' t="e"' if body == "entity-v" else "")
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
    for limits in (LIMITS, ROOMY):  # ROOMY: no cell is too far, so the characters decide more often
        assert verdict(data, monkeypatch, fast=True, limits=limits) == verdict(data, monkeypatch, fast=False,
                                                                               limits=limits)


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
    got = _plain_sheet_within_limits(f"<worksheet><sheetData><row>{xml}</row></sheetData></worksheet>".encode(),
                                     LIMITS, LENGTHS)
    assert (got is not None) is vouched


@pytest.mark.parametrize(("xml", "chars"), [
    ('<c r="A1" t="s"><v>1</v></c><c r="B1" t="s"><v>1</v></c><c r="C1"><v>12.5</v></c>', 5 + 5 + 4),
    ('<c r="A1" t="s"><v>2</v></c>', None),  # a shared string longer than a cell may hold: the full scan says where
    ('<c r="A1" t="s"><v>9</v></c>', None),  # no such shared string
    ('<c r="A1" t="inlineStr"><is><t>x</t></is></c>', None),  # inline text: counted by the full scan
    ('<c r="A1" t="s"><v> 1 </v></c>', None),  # an index written otherwise
    ('<c r="A1" t="e"><v>&amp;</v></c>', 5),  # bytes, not characters: never less than the full scan counts
])
def test_what_the_fast_path_counts(xml: str, chars: int | None) -> None:
    assert _plain_sheet_within_limits(f"<worksheet><sheetData><row>{xml}</row></sheetData></worksheet>".encode(),
                                      LIMITS, LENGTHS) == chars


def test_a_cell_far_away_behind_a_decoy_is_refused() -> None:
    cell = """<c x='a r="A1"' r="XFD1048576"><v>1</v></c>"""
    xml = f'<worksheet {NS}><sheetData><row r="1">{cell}</row></sheetData></worksheet>'
    with pytest.raises(Refused) as got:
        inspect_workbook(with_sheet(xml), LIMITS)
    assert (got.value.problem.rule, got.value.problem.where.cell) == ("sheet-too-many-rows", "XFD1048576")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_sheet_in_utf16_is_scanned_in_full(encoding: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The patterns read ASCII-compatible bytes: in UTF-16 they would see no cell at all, and vouch for it."""
    xml = (f'<?xml version="1.0" encoding="{encoding.upper()}"?><worksheet {NS}><sheetData><row r="1">'
           f'<c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>')
    data = rewrite_zip(BASE, lambda name, body: xml.encode(encoding) if name == SHEET1 else body)
    assert _plain_sheet_within_limits(xml.encode(encoding), LIMITS, LENGTHS) is None
    got = verdict(data, monkeypatch, fast=True)
    assert got == verdict(data, monkeypatch, fast=False)
    problem = got[1]
    assert (problem.rule, problem.where.sheet, problem.where.cell) == ("sheet-too-many-rows", "Sheet1", "XFD1048576") \
        or problem.rule == "file-damaged"


def test_the_forms_we_send_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every form, as rendered plainly and with the layout quirks districts send (formulas aside), is vouched
    for: the fast path is the common path, not a branch that never runs."""
    from ingest.catalogue import load_catalogue

    calls: list[bool] = []
    real = safety._plain_sheet_within_limits
    monkeypatch.setattr(safety, "_plain_sheet_within_limits",
                        lambda xml, lim, strings: calls.append(real(xml, lim, strings) is not None) or
                        real(xml, lim, strings))
    for form in load_catalogue().forms:
        for quirks in (Quirks(), Quirks(extra_rows_before=2, extra_sheet_first=True, unknown_row="99")):
            inspect_workbook(form_bytes(form, options=quirks).data, Limits())
    assert calls and all(calls)
