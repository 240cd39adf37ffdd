"""ingest.text: folding of hand-typed labels, and zero-based (row, col) → A1 addresses."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter

from ingest.text import cell_address, column_letter, fold

VI_LOWER = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
VI_LETTERS = VI_LOWER + VI_LOWER.upper()
SPACES = " \t\n\u00a0\u200b\u2007\u202f\ufeff"
PUNCT = "0123456789.,:;-–()/«»"

vi_text = st.text(alphabet=VI_LETTERS + SPACES + PUNCT, max_size=40)


# --- fold -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("  Mã  SỐ\u00a0", "mã số"),
        ("Mã\u200bsố", "mã số"),  # zero-width space counts as a space
        ("Mã\u202fsố", "mã số"),  # narrow no-break space
        ("\ufeffMã số", "mã số"),  # BOM pasted from a text file
        ("Mã\t\nsố", "mã số"),
        ("LŨY KẾ TỪ ĐẦU NĂM", "lũy kế từ đầu năm"),
        ("Luỹ kế", "lũy kế"),  # old tone placement folds to the new one
        ("Lũy kế", "lũy kế"),
        ("Đơn vị", "đơn vị"),
        ("", ""),
        ("   ", ""),
        (None, ""),
        (12, "12"),
        (1.5, "1.5"),
    ],
)
def test_fold_examples(raw: object, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_old_and_new_tone_placement_fold_equal() -> None:
    for old, new in (("uỹ", "ũy"), ("uý", "úy"), ("uỳ", "ùy"), ("uỷ", "ủy"), ("uỵ", "ụy")):
        assert fold(f"l{old}") == fold(f"l{new}") == f"l{new}"
        assert fold(f"L{old.upper()}") == f"l{new}"


@pytest.mark.parametrize(("raw", "folded"), [("Quý III", "quý iii"), ("QUÝ", "quý"), ("quỳ", "quỳ"),
                                             ("Quỹ", "quỹ"), ("Thuỷ", "thủy"), ("Thủy", "thủy")])
def test_fold_keeps_tone_on_y_after_q(raw: str, folded: str) -> None:
    """``qu`` is one consonant: the tone of ``quý`` stays on the ``y`` (the parser looks for ``quý``)."""
    assert fold(raw) == folded


def test_fold_does_not_merge_different_words() -> None:
    assert fold("Mã số") != fold("Mã sổ")
    assert fold("Tháng") != fold("Thang")


def test_fold_nfd_equals_nfc_example() -> None:
    nfc = "Số lao động được giải quyết việc làm"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    assert fold(nfd) == fold(nfc) == "số lao động được giải quyết việc làm"


@settings(max_examples=300, deadline=None)
@given(st.one_of(vi_text, st.text(max_size=30)))
def test_fold_is_idempotent(s: str) -> None:
    assert fold(fold(s)) == fold(s)


@settings(max_examples=300, deadline=None)
@given(st.one_of(vi_text, st.text(max_size=30)))
def test_fold_nfd_input_folds_equal_to_nfc(s: str) -> None:
    assert fold(unicodedata.normalize("NFD", s)) == fold(unicodedata.normalize("NFC", s))


@settings(max_examples=300, deadline=None)
@given(vi_text)
def test_fold_output_shape(s: str) -> None:
    out = fold(s)
    assert out == out.strip()
    assert "  " not in out
    assert not any(ch in out for ch in SPACES if ch != " ")
    assert out == unicodedata.normalize("NFC", out)


def test_fold_idempotent_after_tone_move_with_trailing_combining_mark() -> None:
    s = "uỹ\u0301"
    assert fold(fold(s)) == fold(s)


# --- column_letter / cell_address -----------------------------------------------------------------

def _reference_letter(index: int) -> str:
    """Bijective base-26, written independently of the module."""
    out = []
    n = index
    while True:
        out.append(chr(ord("A") + n % 26))
        n = n // 26 - 1
        if n < 0:
            return "".join(reversed(out))


@pytest.mark.parametrize(
    ("index", "letters"),
    [(0, "A"), (1, "B"), (25, "Z"), (26, "AA"), (27, "AB"), (51, "AZ"), (52, "BA"), (701, "ZZ"), (702, "AAA"),
     (16383, "XFD")],
)
def test_column_letter_examples(index: int, letters: str) -> None:
    assert column_letter(index) == letters


@given(st.integers(min_value=0, max_value=18277))
def test_column_letter_matches_references(index: int) -> None:
    assert column_letter(index) == _reference_letter(index) == get_column_letter(index + 1)


@pytest.mark.parametrize(
    ("row", "col", "address"),
    [(0, 0, "A1"), (13, 6, "G14"), (4, 2, "C5"), (9, 26, "AA10"), (1048575, 16383, "XFD1048576")],
)
def test_cell_address_examples(row: int, col: int, address: str) -> None:
    assert cell_address(row, col) == address


@given(st.integers(min_value=0, max_value=1_048_575), st.integers(min_value=0, max_value=16383))
def test_cell_address_matches_reference(row: int, col: int) -> None:
    assert cell_address(row, col) == f"{get_column_letter(col + 1)}{row + 1}"
