"""A whole form typed in a legacy Vietnamese font (TCVN3 or VNI) is read like a Unicode one."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from ingest.catalogue import load_catalogue
from ingest.parse.stage import parse_file
from ingest.read.legacy_fonts import encode
from ingest.tell.official_forms import form_bytes

CAT = load_catalogue()


@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
@pytest.mark.parametrize("form_code", ["01/LĐVL-H", "02/GDNN-H"])
def test_a_form_typed_in_a_legacy_font(encoding: str, form_code: str) -> None:
    form = CAT.form(form_code)
    values = {(r.code, "period"): 10.0 + i for i, r in enumerate(form.rows)}
    rendered = form_bytes(form, CAT.unit("444"), dt.date(2024, 7, 1), values)
    wb = openpyxl.load_workbook(io.BytesIO(rendered.data))
    typed_legacy = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and not cell.value.isascii():
                    cell.value = encode(cell.value, encoding)
                    typed_legacy += 1
    out = io.BytesIO()
    wb.save(out)
    assert typed_legacy > 20
    texts = " ".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row)
    assert "Đơn vị báo cáo" not in texts and "Hương Khê" not in texts  # garbled, as a Unicode reader shows it
    parsed = parse_file(out.getvalue(), CAT)
    assert (parsed.form, parsed.unit_code, parsed.period_start) == (form, "444", dt.date(2024, 7, 1))
    stocks = {r.code for r in form.rows if r.kind == "stock"}  # the writer repeats a stock's period as its ytd
    expected = {k: (v, rendered.cells[k]) for k, v in values.items()}
    expected |= {(c, "ytd"): (values[(c, "period")], rendered.cells[(c, "ytd")]) for c in stocks}
    got = {(o.row_code, o.measure): (o.value, o.source_cell) for o in parsed.observations if o.value is not None}
    assert got == expected
    assert parsed.problems == []
