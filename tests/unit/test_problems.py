"""ingest.catalogue.problems and ingest/catalogue/problems.yaml: codes, severities, messages, stable ids."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from string import Formatter

import pytest

from ingest.catalogue import load_catalogue, problems
from ingest.catalogue.problems import SEVERITIES, Location, Problem, ReceivedFile, problem_catalogue, problem_rows
from ingest.settings import CATALOGUE_DIR

YAML = CATALOGUE_DIR / "problems.yaml"
INGEST = Path(problems.__file__).resolve().parents[1]
CAT = problem_catalogue()
CODES = sorted(CAT.types)
SHA = "ab" * 32


def documented_fields() -> set[str]:
    """The field names listed in the header comment of problems.yaml."""
    head = YAML.read_text(encoding="utf-8").split("\nmeasures:", 1)[0]
    names: set[str] = set()
    for line in head.splitlines():
        if line.startswith("#   {"):
            names |= set(re.findall(r"\{(\w+)\}", line))
    return names


def template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name is not None}


FULL = {
    "file_name": "Báo cáo T10.xlsx",
    "sheet": "Bieu 01",
    "cell": "G14",
    "row_code": "04",
    "measure": "period",
    "value": "1.234,5.6",
}
FULL_DETAILS = {
    "expected": "120", "parts": "05, 06, 07, 08", "whole_row": "01", "folder_unit": "443", "sheet_unit": "444",
    "form": "01/LĐVL-H", "forms": "01/LĐVL-H, 02/GDNN-H", "period": "Tháng 10 năm 2024",
    "detail": "Cannot detect file format", "part": "xl/sharedStrings.xml", "format": "xlsb",
    "previous": "63", "period_value": "7", "change": "45%", "score": "151,8",
}
EXPECTED_TEXT = {
    "file": "Báo cáo T10.xlsx", "sheet": "Bieu 01", "cell": "G14", "row_code": "04", "value": "1.234,5.6",
    "measure_vi": "Thực hiện kỳ báo cáo", "measure_en": "this period", **FULL_DETAILS,
    "format_vi": "bảng tính Excel dạng nhị phân (.xlsb)", "format_en": "an Excel binary workbook (.xlsb)",
}


def full_problem(code: str) -> Problem:
    return Problem.at(code, sheet=FULL["sheet"], cell=FULL["cell"], row_code=FULL["row_code"],
                      measure=FULL["measure"], value=FULL["value"], sha256=SHA, **FULL_DETAILS)


# --- the catalogue --------------------------------------------------------------------------------------


def test_catalogue_has_the_codes_the_stages_use() -> None:
    assert set(CODES) == {
        "file-not-spreadsheet", "file-damaged", "file-password-protected", "internal-error",
        "file-empty", "file-too-large", "file-bomb", "file-xml-entities", "file-too-many-sheets", "sheet-too-large",
        "file-timeout", "file-too-complex", "file-too-much-text", "cell-too-long", "file-too-many-styles",
        "file-other-spreadsheet", "file-export-empty", "sheet-too-many-rows", "sheet-too-many-columns",
        "shared-strings-too-large",
        "formula-without-value",
        "form-not-found", "form-on-several-sheets", "period-not-found", "period-mismatch", "unit-not-found",
        "unit-unknown", "header-not-found",
        "column-not-found", "row-duplicated", "row-missing", "row-unknown", "value-not-number",
        "unit-folder-mismatch", "unit-not-in-period", "period-in-future", "negative-value", "ytd-below-period",
        "sum-mismatch", "part-exceeds-whole",
        "ytd-continuity", "ytd-decreased", "prev-year-mismatch", "plan-changed", "stock-ytd-not-period",
        "stock-jump", "outlier-zscore", "outlier-minmax",
    }


def test_every_code_emitted_by_the_code_is_in_the_catalogue() -> None:
    emitted: set[str] = set()
    for path in INGEST.rglob("*.py"):
        src = path.read_text(encoding="utf-8")
        emitted |= set(re.findall(r'(?:Problem\.at|Problem|Refused)\(\s*"([a-z]+(?:-[a-z]+)+)"', src))
        emitted |= set(re.findall(r'"rule":\s*"([a-z]+(?:-[a-z]+)+)"', src))
    assert len(emitted) >= 35  # the search found the stages' codes
    assert emitted <= set(CODES), emitted - set(CODES)


@pytest.mark.parametrize("code", CODES)
def test_code_severity_stage_title(code: str) -> None:
    t = CAT.get(code)
    assert re.fullmatch(r"[a-z]+(-[a-z]+)+", code)
    assert t.code == code
    assert t.severity in SEVERITIES
    assert t.stage in ("read", "parse", "validate")
    assert t.title.strip() and t.vi.strip() and t.en.strip()


def test_warnings_are_the_doubtful_never_the_wrong() -> None:
    assert {c for c in CODES if CAT.get(c).severity == "warning"} == {
        "row-missing", "row-unknown", "ytd-continuity", "ytd-decreased", "prev-year-mismatch", "plan-changed",
        "stock-ytd-not-period", "stock-jump", "outlier-zscore", "outlier-minmax"}


@pytest.mark.parametrize("code", CODES)
def test_templates_use_documented_fields_alike_in_both_languages(code: str) -> None:
    t = CAT.get(code)
    vi, en = template_fields(t.vi), template_fields(t.en)
    assert vi <= documented_fields()
    assert en <= documented_fields()
    assert "measure_en" not in vi and "measure_vi" not in en and "format_en" not in vi and "format_vi" not in en
    assert ({f.replace("measure_vi", "measure").replace("format_vi", "format") for f in vi}
            == {f.replace("measure_en", "measure").replace("format_en", "format") for f in en})


def test_no_message_a_district_reads_carries_the_technical_detail() -> None:
    assert [c for c in CODES if "detail" in template_fields(CAT.get(c).vi + CAT.get(c).en)] == []


def test_a_deprecated_code_says_what_replaced_it() -> None:
    assert {c: CAT.get(c).deprecated for c in CODES if CAT.get(c).deprecated} == {
        "sheet-too-large": "2026-12: split into sheet-too-many-rows and sheet-too-many-columns, which name the "
                           "limit hit"}


def test_measures_cover_every_numeric_column() -> None:
    catalogue = load_catalogue()
    keys = {c.key for f in catalogue.forms for c in f.columns}
    assert set(catalogue.measure_keys) == keys == {"plan_year", "period", "ytd", "ytd_prev_year"}
    for m in catalogue.measures:  # what the messages call them: forms.yaml, measures
        assert m.label_vi and m.label_en


def test_unknown_code_is_a_key_error() -> None:
    with pytest.raises(KeyError, match=re.escape("problem code 'no-such-rule' is not in problems.yaml")):
        CAT.get("no-such-rule")
    with pytest.raises(KeyError):
        _ = Problem("no-such-rule").severity


def test_invalid_severity_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = YAML.read_text(encoding="utf-8").replace("severity: warning", "severity: fatal", 1)
    (tmp_path / "problems.yaml").write_text(bad, encoding="utf-8")
    monkeypatch.setattr(problems, "CATALOGUE_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"problems.yaml: row-missing has severity 'fatal', not one of "
                                         r"\('error', 'warning'\)"):
        problems.problem_catalogue.__wrapped__()


def test_valid_catalogue_copy_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "problems.yaml").write_text(YAML.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(problems, "CATALOGUE_DIR", tmp_path)
    assert problems.problem_catalogue.__wrapped__() == CAT


# --- messages ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
def test_every_message_renders_fully_with_all_fields(code: str) -> None:
    p = full_problem(code)
    for lang, message in zip(("vi", "en"), p.messages(FULL["file_name"]), strict=True):
        template = getattr(CAT.get(code), lang)
        assert "{" not in message and "}" not in message
        assert "?" not in message
        for name in template_fields(template):
            assert EXPECTED_TEXT[name] in message, (lang, name)


@pytest.mark.parametrize("code", [c for c in CODES if template_fields(CAT.get(c).vi)])
def test_a_missing_field_renders_as_question_mark(code: str) -> None:
    vi, en = Problem(code).messages(None)
    assert "?" in vi
    assert "?" in en
    assert "{" not in vi + en


def test_value_not_number_message_exact() -> None:
    p = Problem.at("value-not-number", sheet="Bieu 01", cell="G23", row_code="10", measure="ytd", value="1.234,5.6")
    vi, en = p.messages("bc.xlsx")
    assert vi == ("Sheet «Bieu 01», ô G23 (mã số 10, cột «Lũy kế từ đầu năm»): «1.234,5.6» không phải là "
                  "số. Ghi số, ví dụ 1.234 hoặc 12,5.")
    assert en == ("Sheet «Bieu 01», cell G23 (row 10, «year to date»): «1.234,5.6» is not a number. "
                  "Write a number such as 1.234 or 12,5.")


def test_row_missing_message_exact() -> None:
    p = Problem.at("row-missing", sheet="Bieu 01", row_code="09", form="01/LĐVL-H")
    assert p.messages("bc.xlsx") == ("Sheet «Bieu 01»: thiếu chỉ tiêu mã số 09 của biểu 01/LĐVL-H.",
                                     "Sheet «Bieu 01»: row 09 of form 01/LĐVL-H is missing.")
    assert (p.severity, p.stage) == ("warning", "parse")


def test_braces_in_values_are_not_reinterpreted() -> None:
    p = Problem.at("value-not-number", sheet="{file}", cell="G1", row_code="01", measure="period", value="{0}{sheet}")
    _, en = p.messages("bc.xlsx")
    assert "«{0}{sheet}»" in en
    assert en.startswith("Sheet «{file}»")


def test_unknown_measure_renders_as_question_mark() -> None:
    p = Problem.at("column-not-found", sheet="S", measure="nonsense")
    assert p.messages("bc.xlsx")[1] == "Sheet «S»: the «?» column was not found in the table header."


# --- problem_id and the stored record ----------------------------------------------------------------------


def test_problem_id_is_stable_and_matches_its_definition() -> None:
    p = full_problem("value-not-number")
    key = f"{SHA}|value-not-number|Bieu 01|G14|04|period"
    assert p.problem_id == hashlib.sha256(key.encode()).hexdigest()[:16]
    assert p.problem_id == full_problem("value-not-number").problem_id
    assert re.fullmatch(r"[0-9a-f]{16}", p.problem_id)


def test_problem_id_ignores_the_value_and_the_message_fields() -> None:
    a = Problem.at("row-missing", sheet="S", row_code="09", sha256=SHA, form="01/LĐVL-H")
    b = Problem.at("row-missing", sheet="S", row_code="09", sha256=SHA, value="v", form="other")
    assert a.problem_id == b.problem_id


@pytest.mark.parametrize(
    "change",
    [{"sha256": "cd" * 32}, {"rule": "row-unknown"}, {"sheet": "T"}, {"cell": "C20"}, {"row_code": "10"},
     {"measure": "ytd"}],
)
def test_problem_id_depends_on_where_the_problem_is(change: dict) -> None:
    base = {"rule": "row-missing", "sha256": SHA, "sheet": "S", "cell": None, "row_code": "09", "measure": None}
    assert Problem.at(**base).problem_id != Problem.at(**{**base, **change}).problem_id


def test_a_problem_is_at_a_location() -> None:
    p = Problem.at("sum-mismatch", sheet="Bieu 01", cell="F13", row_code="01", measure="period", expected="8.009")
    assert p == Problem("sum-mismatch", Location("Bieu 01", "F13", "01", "period"), None, {"expected": "8.009"})
    assert p.of_file(SHA) == Problem.at("sum-mismatch", sheet="Bieu 01", cell="F13", row_code="01",
                                        measure="period", sha256=SHA, expected="8.009")
    assert Problem.at("file-empty", detail="0 bytes", expected=None).details == {"detail": "0 bytes"}


def test_problem_rows_are_the_raw_table_with_the_file() -> None:
    p = full_problem("negative-value")
    vi, en = p.messages("Báo cáo T10.xlsx")
    [rec] = problem_rows([p], {SHA: ReceivedFile("Báo cáo T10.xlsx", "443", "s1")})
    assert rec == {
        "problem_id": p.problem_id, "sha256": SHA, "submission_id": "s1", "file_name": "Báo cáo T10.xlsx",
        "folder_unit_code": "443", "stage": "validate", "severity": "error", "rule": "negative-value",
        "row_code": "04", "measure": "period", "source_sheet": "Bieu 01", "source_cell": "G14",
        "value_text": "1.234,5.6", "message_vi": vi, "message_en": en, "detail": "Cannot detect file format",
    }
    assert rec["message_en"] == ("Sheet «Bieu 01», cell G14 (row 04, «this period»): the value 1.234,5.6 is "
                                 "negative.")
    with pytest.raises(ValueError, match="problem negative-value is not about a file"):
        problem_rows([Problem("negative-value")], {})


def test_a_message_echoes_only_a_short_printable_fragment_of_the_file() -> None:
    """The offending cell's whole text stays in value_text; the message a district reads carries an excerpt."""
    text = "=HYPERLINK(\"http://x\")\r\n\u202e" + "ồ" * 5000
    p = Problem.at("value-not-number", sheet="Bieu\x0001\n" + "x" * 300, cell="G14", row_code="04", measure="period",
                   value=text, sha256=SHA)
    vi, en = p.messages("a\x1b[31m.xlsx")
    assert en == ("Sheet «Bieu 01 " + "x" * 71 + "…», cell G14 (row 04, «this period»): «=HYPERLINK(\"http://x\") "
                  + "ồ" * 56 + "…» is not a number. Write a number such as 1.234 or 12,5.")
    assert len(vi) < 300
    [row] = problem_rows([p], {SHA: ReceivedFile("a.xlsx", "443")})
    assert row["value_text"] == text
