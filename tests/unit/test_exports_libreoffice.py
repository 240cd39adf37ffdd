"""The four official forms, filled in, exported by LibreOffice into every format districts' software produces
instead of a workbook — an HTML table (named .xls), Excel 2003 XML (named .xml and .xls), CSV (UTF-8, UTF-8
with a BOM, Windows-1258), flat ODS — and into .xls and .ods: each parses to the same form, unit, period and
numbers as the .xlsx it came from.

The files are made here by LibreOffice itself (``soffice --headless --convert-to``, Debian's libreoffice-calc,
installed by .ci/system-deps), never stored: what is compared is what LibreOffice writes today.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ingest.catalogue import load_catalogue
from ingest.parse.parser import ParsedSubmission
from ingest.parse.stage import parse_file
from ingest.read.formats import sniff
from ingest.tell.official_forms import form_bytes
from tests.unit.office_files import as_cp1258

CAT = load_catalogue()
FORMS = ("01/LĐVL-H", "02/GDNN-H", "03/BTXH-H", "04/TTr-H")
MEASURES = ("plan_year", "period", "ytd", "ytd_prev_year")
# LibreOffice's export filters, by the suffix they write
FILTERS = {
    "html": "html:HTML (StarCalc)",
    "fods": "fods:OpenDocument Spreadsheet Flat XML",
    "csv": "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false",
    "xls": "xls:MS Excel 97",
    "ods": "ods:calc8",
}
SPREADSHEETML = "xml:MS Excel 2003 XML"
# LibreOffice 7.4's SpreadsheetML stylesheet recurses once per repeated column and overflows on a sheet's trailing
# empty columns (number-columns-repeated="16374"), and writes one Row element per repeated row (26 MB for the
# trailing million): those repeats are cut from the flat ODS it converts from, as Excel writes only what is used
_TRAILING_REPEATS = re.compile(r'table:number-(columns|rows)-repeated="\d{3,}"')

pytestmark = pytest.mark.skipif(shutil.which("soffice") is None,
                                reason="LibreOffice (soffice) is installed by .ci/system-deps for make test")


def values_for(form) -> dict[tuple[str, str], float]:
    """A distinct number in every cell, halves in odd rows (so decimals are exported too)."""
    return {(r.code, m): 1000 * (i + 1) + 10 * j + 0.5 * (i % 2)
            for i, r in enumerate(form.rows) for j, m in enumerate(MEASURES)}


def period_of(form) -> dt.date:
    return dt.date(2024, 10, 1) if form.frequency == "monthly" else dt.date(2024, 7, 1)


def convert(sources: list[Path], target: str, out: Path, profile: Path) -> None:
    out.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(profile)}
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                    "--convert-to", target, "--outdir", str(out), *map(str, sources)],
                   check=True, capture_output=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    """By form code, by export name: the file's bytes (and "xlsx": the original)."""
    root = tmp_path_factory.mktemp("libreoffice")
    profile = root / "profile"
    sources = []
    for i, code in enumerate(FORMS):
        form = CAT.form(code)
        path = root / f"form{i}.xlsx"
        path.write_bytes(form_bytes(form, CAT.unit("443"), period_of(form), values_for(form)).data)
        sources.append(path)
    for suffix, target in FILTERS.items():
        convert(sources, target, root / suffix, profile)
    trimmed = root / "trimmed"
    trimmed.mkdir()
    for source in sources:
        flat = (root / "fods" / source.with_suffix(".fods").name).read_text(encoding="utf-8")
        (trimmed / source.with_suffix(".fods").name).write_text(
            _TRAILING_REPEATS.sub(r'table:number-\1-repeated="2"', flat), encoding="utf-8")
    convert(sorted(trimmed.iterdir()), SPREADSHEETML, root / "xml", profile)
    out: dict[str, dict[str, bytes]] = {}
    for source, code in zip(sources, FORMS, strict=True):
        files = {"xlsx": source.read_bytes()}
        for suffix in (*FILTERS, "xml"):
            files[suffix] = (root / suffix / source.with_suffix(f".{suffix}").name).read_bytes()
        csv_text = files["csv"].decode("utf-8")
        files["csv-bom"] = b"\xef\xbb\xbf" + files["csv"]
        # what Excel on a Vietnamese Windows writes: Windows-1258, whose tone marks are combining characters
        files["csv-cp1258"] = as_cp1258(csv_text)
        out[code] = files
    return out


def numbers(parsed: ParsedSubmission) -> dict[tuple[str, str], tuple[float | None, str]]:
    return {(o.row_code, o.measure): (o.value, o.source_cell) for o in parsed.observations}


@pytest.mark.parametrize("code", FORMS)
@pytest.mark.parametrize("export", ["html", "xml", "fods", "csv", "csv-bom", "csv-cp1258", "xls", "ods"])
def test_an_export_reads_to_the_numbers_of_the_workbook(exports, code: str, export: str) -> None:
    form = CAT.form(code)
    files = exports[code]
    reference = parse_file(files["xlsx"], CAT)
    parsed = parse_file(files[export], CAT)
    assert isinstance(reference, ParsedSubmission), reference
    assert isinstance(parsed, ParsedSubmission), parsed
    assert (parsed.form, parsed.unit_code, parsed.period_start) == (form, "443", period_of(form))
    assert (reference.form, reference.unit_code, reference.period_start) == (form, "443", period_of(form))
    assert [p.rule for p in parsed.problems] == [p.rule for p in reference.problems]
    assert numbers(parsed) == numbers(reference)
    written = {k: v for k, (v, _) in numbers(reference).items() if v is not None}  # and what the form was given
    assert len(written) >= 3 * len(form.rows) and written == {k: values_for(form)[k] for k in written}


@pytest.mark.parametrize("export, kind", [("html", "html"), ("xml", "spreadsheetml"), ("fods", "fods"),
                                          ("csv", "csv"), ("csv-bom", "csv"), ("csv-cp1258", "csv")])
def test_each_export_is_told_from_its_bytes(exports, export: str, kind: str) -> None:
    assert sniff(exports[FORMS[0]][export]) == kind

