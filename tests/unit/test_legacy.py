"""ingest.read.legacy_fonts: text typed in the TCVN3 (ABC) and VNI fonts → Unicode, and never a false alarm."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.read.legacy_fonts import ENCODINGS, decode, detect, encode, to_unicode

FORMS = Path(__file__).resolve().parents[2] / "ingest" / "catalogue" / "forms.yaml"

VI_LOWER = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
VI_UPPER = VI_LOWER.upper()
VI_ONLY_LOWER = "".join(c for c in VI_LOWER if not c.isascii())  # the 67 letters with a legacy code
VI_ONLY_UPPER = VI_ONLY_LOWER.upper()

PHRASES = [  # from forms.yaml
    "Số lao động được giải quyết việc làm",
    "Lũy kế từ đầu năm",
    "Đơn vị báo cáo",
    "Cùng kỳ năm trước",
    "PHÒNG LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI",
    "Quý III năm 2024",
    "Huyện Hương Khê",
    "BÁO CÁO KẾT QUẢ THỰC HIỆN CÔNG TÁC LAO ĐỘNG - VIỆC LÀM",
    "Trong đó: Lao động nữ",
    "- Đài Loan (Trung Quốc)",
    "Sở Lao động - Thương binh và Xã hội tỉnh Hà Tĩnh",
]


# --- the tables -----------------------------------------------------------------------------------

def test_all_134_letters_have_a_legacy_spelling_in_both_encodings() -> None:
    assert len(VI_ONLY_LOWER) == 67
    for encoding in ENCODINGS:
        for letter in VI_ONLY_LOWER + VI_ONLY_UPPER:
            assert not encode(letter, encoding).isascii(), (encoding, letter)


def test_tcvn3_uses_one_code_per_letter_and_distinct_codes_for_lower_case() -> None:
    codes = [encode(c, "tcvn3") for c in VI_ONLY_LOWER]
    assert all(len(c) == 1 for c in codes)
    assert len(set(codes)) == 67
    # VN3 has only seven capitals: Ă Â Ê Ô Ơ Ư Đ at 0xA1-0xA7; toned capitals share the lower-case code
    assert [encode(c, "tcvn3") for c in "ĂÂÊÔƠƯĐ"] == [chr(c) for c in range(0xA1, 0xA8)]
    assert encode("Á", "tcvn3") == encode("á", "tcvn3") == "\u00b8"


def test_vni_spellings_are_distinct_and_capitals_are_the_lower_case_minus_0x20() -> None:
    spellings = [encode(c, "vni") for c in VI_ONLY_LOWER + VI_ONLY_UPPER]
    assert len(set(spellings)) == 134
    for lower in VI_ONLY_LOWER:
        upper_spelling = encode(lower.upper(), "vni")
        expected = "".join(c.upper() if c.isascii() else chr(ord(c) - 0x20) for c in encode(lower, "vni"))
        assert upper_spelling == expected


# Hand-typed from the sources (not produced by our tables), one row per letter: Unikey
# ukengine/tables/singlebyte/tcvn3.cpp and GNU libiconv lib/tcvn.h (0xA0-0xFF).
TCVN3_BY_HAND = {
    "aáàảãạ": "a\xb8\xb5\xb6\xb7\xb9",
    "ăắằẳẵặ": "\xa8\xbe\xbb\xbc\xbd\xc6",
    "âấầẩẫậ": "\xa9\xca\xc7\xc8\xc9\xcb",
    "eéèẻẽẹ": "e\xd0\xcc\xce\xcf\xd1",
    "êếềểễệ": "\xaa\xd5\xd2\xd3\xd4\xd6",
    "iíìỉĩị": "i\xdd\xd7\xd8\xdc\xde",
    "oóòỏõọ": "o\xe3\xdf\xe1\xe2\xe4",
    "ôốồổỗộ": "\xab\xe8\xe5\xe6\xe7\xe9",
    "ơớờởỡợ": "\xac\xed\xea\xeb\xec\xee",
    "uúùủũụ": "u\xf3\xef\xf1\xf2\xf4",
    "ưứừửữự": "\xad\xf8\xf5\xf6\xf7\xf9",
    "yýỳỷỹỵ": "y\xfd\xfa\xfb\xfc\xfe",
    "đĐ": "\xae\xa7",
}
# Unikey ukengine/tables/doublebytes/vni_win.cpp and xvnkb vni.h (capital rows).
VNI_BY_HAND = {
    "á à ả ã ạ": "aù aø aû aõ aï",
    "ắ ằ ẳ ẵ ặ ă": "aé aè aú aü aë aê",
    "ấ ầ ẩ ẫ ậ â": "aá aà aå aã aä aâ",
    "ế ề ể ễ ệ ê": "eá eà eå eã eä eâ",
    "í ì ỉ ĩ ị": "í ì æ ó ò",
    "ơ ớ ờ ở ỡ ợ": "ô ôù ôø ôû ôõ ôï",
    "ư ứ ừ ử ữ ự": "ö öù öø öû öõ öï",
    "ý ỳ ỷ ỹ ỵ đ": "yù yø yû yõ î ñ",
    "Á Ắ Ấ Ế Ớ Ự Ỵ Đ Ỉ Ĩ": "AÙ AÉ AÁ EÁ ÔÙ ÖÏ Î Ñ Æ Ó",
}


@pytest.mark.parametrize(("unicode", "legacy"), TCVN3_BY_HAND.items())
def test_tcvn3_table_matches_the_published_rows(unicode: str, legacy: str) -> None:
    assert encode(unicode, "tcvn3") == legacy
    assert decode(legacy, "tcvn3").lower() == unicode.lower()


@pytest.mark.parametrize(("unicode", "legacy"), VNI_BY_HAND.items())
def test_vni_table_matches_the_published_rows(unicode: str, legacy: str) -> None:
    assert encode(unicode, "vni") == legacy
    assert decode(legacy, "vni") == unicode


# --- known samples from public sources ------------------------------------------------------------
# github.com/duydev/vietnamese-conversion tests/helpers/test-data.ts; the DuBaoMatRung server/test.js
# examples; backupvietsoft/HRM ConvertVNI; Vietnamese legacy-PDF/.doc test suites found by searching
# public code for "Vieät Nam" (decree headings typed in .VnTime / VNI-Times).
TCVN3_SAMPLES = [
    ("Xin chµo c¸c b¹n", "Xin chào các bạn"),
    ("T«i ®i häc", "Tôi đi học"),
    ("B¶o Th¾ng", "Bảo Thắng"),
    ("M\xadêng Kh\xad¬ng", "Mường Khương"),
    ("B¸t X¸t", "Bát Xát"),
    ("Ninh B×nh", "Ninh Bình"),
    ("B¸o c¸o tµi chÝnh quý II n¨m 2008", "Báo cáo tài chính quý II năm 2008"),
    ("ViÖt Nam", "Việt Nam"),
    ("céng hßa x· héi chñ nghÜa viÖt nam", "cộng hòa xã hội chủ nghĩa việt nam"),
    ("§éc lËp - Tù do - H¹nh phóc", "Độc lập - Tự do - Hạnh phúc"),
    ("QuyÕt ®Þnh cña Bé tr\xadëng Bé Tµi chÝnh", "Quyết định của Bộ trưởng Bộ Tài chính"),
    ("B¸o c¸o", "Báo cáo"),
]
VNI_SAMPLES = [
    ("Xin chaøo caùc baïn", "Xin chào các bạn"),
    ("Toâi ñi hoïc", "Tôi đi học"),
    ("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam", "Cộng hòa xã hội chủ nghĩa Việt Nam"),
    ("COÄNG HOØA XAÕ HOÄI CHUÛ NGHÓA VIEÄT NAM", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    ("Ñoäc laäp - Töï do - Haïnh phuùc", "Độc lập - Tự do - Hạnh phúc"),
    ("Haø Noäi", "Hà Nội"),
    ("ñöôïc", "được"),
    ("Ñoàng", "Đồng"),
    ("VIEÄT NAM", "VIỆT NAM"),
    ("Ñaø Naüng", "Đà Nẵng"),
    ("thuyû", "thuỷ"),
    ("ñöôïc nhöõng Chæ thò Myõ", "được những Chỉ thị Mỹ"),
    ("Baùo caùo", "Báo cáo"),
]


@pytest.mark.parametrize(("legacy", "unicode"), TCVN3_SAMPLES)
def test_known_tcvn3_samples(legacy: str, unicode: str) -> None:
    assert detect(legacy) == "tcvn3"
    assert to_unicode(legacy) == unicode


@pytest.mark.parametrize(("legacy", "unicode"), VNI_SAMPLES)
def test_known_vni_samples(legacy: str, unicode: str) -> None:
    assert detect(legacy) == "vni"
    assert to_unicode(legacy) == unicode


# --- phrases of the forms catalogue ---------------------------------------------------------------

EXPECTED_LEGACY = {  # written out once, so a change to the tables shows up here as well
    ("tcvn3", "Lũy kế từ đầu năm"): "Lòy kÕ tõ ®Çu n¨m",
    ("tcvn3", "PHÒNG LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI"): "PHßNG LAO §éNG - TH¦¥NG BINH Vµ X· HéI",
    ("tcvn3", "Huyện Hương Khê"): "HuyÖn H\xad¬ng Khª",
    ("vni", "Đơn vị báo cáo"): "Ñôn vò baùo caùo",
    ("vni", "Cùng kỳ năm trước"): "Cuøng kyø naêm tröôùc",
    ("vni", "Quý III năm 2024"): "Quyù III naêm 2024",
}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("phrase", PHRASES)
def test_catalogue_phrases_are_detected_and_decoded_exactly(phrase: str, encoding: str) -> None:
    legacy = encode(phrase, encoding)
    if (encoding, phrase) in EXPECTED_LEGACY:
        assert legacy == EXPECTED_LEGACY[(encoding, phrase)]
    assert detect(legacy) == encoding
    assert to_unicode(legacy) == phrase


@pytest.mark.parametrize(
    ("legacy", "encoding", "unicode"),
    [
        ("§VT", "tcvn3", "ĐVT"),  # an abbreviation with the legacy Đ is evidence enough
        ("01/L§VL-H", "tcvn3", "01/LĐVL-H"),
        ("ÑVT", "vni", "ĐVT"),
        ("vuï", "vni", "vụ"),
        ("TROÏNG", "vni", "TRỌNG"),  # TCVN3 would read "TROẼNG": no such rhyme
        ("TrÖ", "tcvn3", "Trệ"),  # VNI would read "TrƯ": a capital inside a lower-case word
    ],
)
def test_short_cells(legacy: str, encoding: str, unicode: str) -> None:
    assert detect(legacy) == encoding
    assert to_unicode(legacy) == unicode


def test_tcvn3_capitals_follow_the_word_and_its_neighbours() -> None:
    assert decode("PHßNG", "tcvn3") == "PHÒNG"  # two capitals decide the word
    assert decode("HéI", "tcvn3") == "HỘI"  # so does one capital after the first letter
    assert decode("ÓU", "tcvn3") == "ỂU"
    assert decode("HuyÖn", "tcvn3") == "Huyện"  # a lower-case letter decides it
    assert decode("BINH Vµ X· HéI", "tcvn3") == "BINH VÀ XÃ HỘI"  # undecided words follow capitals around them
    assert decode("Hé gia ®×nh", "tcvn3") == "Hộ gia đình"
    assert decode("§ã", "tcvn3") == "Đó"  # nothing to go by: left as typed in the regular font


# --- round trips ----------------------------------------------------------------------------------

@pytest.mark.parametrize("letter", list(VI_ONLY_LOWER + VI_ONLY_UPPER))
def test_every_letter_round_trips(letter: str) -> None:
    assert decode(encode(letter, "vni"), "vni") == letter
    assert decode(encode(letter, "tcvn3"), "tcvn3").lower() == letter.lower()
    # in an all-capital context every TCVN3 capital comes back as a capital
    if letter.isupper():
        word = f"AB {letter}{letter} CD"
        assert decode(encode(word, "tcvn3"), "tcvn3") == word


vi_text = st.text(alphabet=VI_LOWER + VI_UPPER + " 0123456789.,:;-()/", max_size=60)
vi_lower_text = st.text(alphabet=VI_LOWER + " 0123456789.,-", max_size=60)


@settings(max_examples=300)
@given(vi_text)
def test_vni_round_trip_is_exact(text: str) -> None:
    assert decode(encode(text, "vni"), "vni") == text


@settings(max_examples=300)
@given(vi_text)
def test_tcvn3_round_trip_keeps_letters_and_lower_case_is_exact(text: str) -> None:
    assert decode(encode(text, "tcvn3"), "tcvn3").lower() == text.lower()


@settings(max_examples=300)
@given(vi_lower_text)
def test_tcvn3_round_trip_of_lower_case_text_is_exact(text: str) -> None:
    assert decode(encode(text, "tcvn3"), "tcvn3") == text


@settings(max_examples=200)
@given(st.text(alphabet=VI_UPPER + " -", max_size=40))
def test_tcvn3_round_trip_of_capitals_is_exact_with_a_capital_word_to_go_by(text: str) -> None:
    framed = f"BIỂU {text} TỔNG HỢP"
    assert decode(encode(framed, "tcvn3"), "tcvn3") == framed


@settings(max_examples=200)
@given(st.text(alphabet=VI_LOWER + VI_UPPER + " ,.-0123456789", max_size=60).filter(
    lambda t: any(c in VI_ONLY_LOWER + VI_ONLY_UPPER and ord(c) > 0xFF for c in t)))
def test_text_with_a_vietnamese_only_letter_is_never_detected(text: str) -> None:
    assert detect(text) is None
    assert to_unicode(text) == text


# Real Vietnamese syllables, built independently of the module: many use only Latin-1 letters
# ("cô", "hoàn", "tên"), which is exactly what both legacy encodings are made of.
INITIALS = ["", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh", "ph",
            "qu", "r", "s", "t", "th", "tr", "v", "x"]
# "*" follows the vowel that carries the tone (both placements where usage varies: "hoà"/"hòa").
RHYMES = ["a*", "a*i", "a*m", "a*n", "a*ng", "a*nh", "a*o", "a*t", "a*y", "ă*n", "ă*ng", "â*m", "â*n", "â*u", "â*y",
          "e*", "e*m", "e*n", "e*o", "ê*", "ê*m", "ê*n", "ê*nh", "ê*t", "ê*u", "i*", "i*m", "i*n", "i*nh", "i*t",
          "i*a", "iê*m", "iê*n", "iê*t", "iê*u", "o*", "o*a", "oa*", "oa*i", "oa*n", "oa*ng", "oa*nh", "o*c",
          "o*e", "oe*", "o*i", "o*m", "o*n", "o*ng", "ô*", "ô*i", "ô*m", "ô*n", "ô*ng", "ơ*", "ơ*i", "ơ*n", "u*",
          "u*a", "uâ*n", "uê*", "u*i", "u*m", "u*n", "u*ng", "u*y", "uy*", "uyê*n", "uô*i", "uô*n", "uô*ng", "ư*",
          "ư*a", "ư*ng", "ươ*c", "ươ*ng", "ươ*i", "y*", "yê*n"]
TONED = {row[0]: row for row in ("aáàảãạ", "ăắằẳẵặ", "âấầẩẫậ", "eéèẻẽẹ", "êếềểễệ", "iíìỉĩị", "oóòỏõọ", "ôốồổỗộ",
                                 "ơớờởỡợ", "uúùủũụ", "ưứừửữự", "yýỳỷỹỵ")}


@st.composite
def syllables(draw: st.DrawFn) -> str:
    rhyme = draw(st.sampled_from(RHYMES))
    mark = rhyme.index("*")
    toned = rhyme[: mark - 1] + TONED[rhyme[mark - 1]][draw(st.integers(0, 5))] + rhyme[mark + 1 :]
    word = draw(st.sampled_from(INITIALS)) + toned
    return draw(st.sampled_from([word, word.capitalize(), word.upper()]))


@settings(max_examples=500)
@given(st.lists(syllables(), min_size=1, max_size=8))
def test_unicode_vietnamese_words_are_never_detected(words: list[str]) -> None:
    text = " ".join(words)
    assert detect(text) is None
    assert to_unicode(text) == text


# --- no false positives ---------------------------------------------------------------------------

ORDINARY = [
    "", " ", "STT", "A", "B", "-", "1.234,5", "1,234.5", "12 345", "Bieu 01", "Biểu 01", "01/LĐVL-H",
    "nguyen.van.a@hatinh.gov.vn", "so-ldtbxh@hatinh.gov.vn", "Café", "CAFÉ", "Müller", "naïve", "Noël", "où",
    "goût", "Thaï", "aún", "Raúl", "España", "año", "señor", "São Paulo", "João", "Straße", "Maß", "Köln",
    "Zürich", "Søren", "Ångström", "déjà vu", "résumé", "fiancée", "Coca-Cola®", "© 2024", "5 µm", "§ 3",
    "£100", "½", "3 × 4", "25 °C", "– —", "«Tên»", "Hoàng", "hoàn thành", "Khoá học", "Cô Tô", "Tên", "Quý",
    "Số", "Kế hoạch năm", "HĐND", "UBND", "Tổng", "Ü", "Ñ", "É",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_not_detected(text: str) -> None:
    assert detect(text) is None
    assert to_unicode(text) == text


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in _strings(k) + _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def test_no_string_of_the_forms_catalogue_is_detected() -> None:
    strings = _strings(yaml.safe_load(FORMS.read_text(encoding="utf-8")))
    assert len(strings) > 200
    detected = {s: detect(s) for s in strings if detect(s) is not None}
    assert detected == {}


def test_an_ambiguous_word_is_left_alone() -> None:
    # "Tæng" is TCVN3 "Tổng" but also VNI "Tỉng"; neither wins, so nothing is changed
    assert detect("Tæng") is None
    assert detect("Tæng sè") == "tcvn3"
    assert detect("ÓU") is None  # TCVN3 "ỂU" or VNI "ĨU"
    assert detect("Sè") is None  # TCVN3 "Số", but also a well-formed Unicode word


def test_unknown_encoding_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown legacy encoding"):
        decode("x", "viqr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown legacy encoding"):
        encode("x", "viscii")  # type: ignore[arg-type]
