"""What the mailbox door reads from one e-mail: its sender and the report files it carries, every other attachment
with the reason it was not taken, and file names decoded the ways mail programs write them."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.catalogue import load_catalogue
from ingest.doors.attachments import clean_name, read_message
from ingest.doors.senders import SenderCheck, authenticated, check_sender, sender_units
from ingest.read.limits import MB, Limits
from ingest.tell.alerts import recipients
from tests.doors import messages as m

LIMITS = Limits()
PROVINCE = load_catalogue().province_code
XLS = "application/vnd.ms-excel"


def test_a_district_message_gives_its_sender_subject_and_spreadsheets_and_says_what_else_it_held() -> None:
    msg = m.message(attachments=[("Báo cáo tháng 2 năm 2024.xlsx", b"PK-one", m.XLSX),
                                 ("Công văn số 12.pdf", b"%PDF", "application/pdf"),
                                 ("bieu 03.XLS", b"ole-two", "application/octet-stream")])
    read = read_message(bytes(msg), LIMITS)
    assert (read.sender, read.subject, read.message_id, read.automatic) == (
        m.CAN_LOC_ADDRESS, "Báo cáo tháng 2/2024", str(msg["Message-ID"]), False)
    assert [(a.name, a.data, a.within) for a in read.attachments] == [
        ("Báo cáo tháng 2 năm 2024.xlsx", b"PK-one", ""), ("bieu 03.XLS", b"ole-two", "")]
    assert [(n.name, n.reason) for n in read.not_taken] == [("Công văn số 12.pdf", "not-spreadsheet")]



def test_exports_and_other_programs_spreadsheets_are_taken_so_the_verdict_can_name_them() -> None:
    """An HTML page, SpreadsheetML and a CSV are read; an .xlsb or a .numbers file is taken so that its verdict says
    what it is and to save it as .xlsx; a PDF or a photo is still listed as not taken."""
    names = ["Xuat Excel.html", "Bao cao 2003.xml", "so lieu.csv", "bieu.fods", "bieu.xlsb", "bieu.numbers",
             "bieu.slk", "scan.pdf", "anh.jpg"]
    msg = m.message(attachments=[(n, b"x", "application/octet-stream") for n in names])
    read = read_message(bytes(msg), LIMITS)
    assert [a.name for a in read.attachments] == names[:7]
    assert [(n.name, n.reason) for n in read.not_taken] == [("scan.pdf", "not-spreadsheet"),
                                                            ("anh.jpg", "not-spreadsheet")]

def test_rfc2231_names_are_decoded_and_normalised() -> None:
    raw = bytes(m.message(attachments=[("Bao cao thang 2.xlsx", b"x", m.XLSX)]))
    raw = raw.replace(b'filename="Bao cao thang 2.xlsx"',
                      b"filename*=utf-8''Ba%CC%81o%20ca%CC%81o%20tha%CC%81ng%202.xlsx")  # NFD, as a Mac writes it
    (att,) = read_message(raw, LIMITS).attachments
    assert att.name == "Báo cáo tháng 2.xlsx"


def test_an_outlook_name_in_an_encoded_word_inside_nested_multiparts_is_found() -> None:
    read = read_message(m.outlook_style(m.CAN_LOC_ADDRESS, "Biểu 01 LĐVL tháng 2.xls", b"\xd0\xcf\x11\xe0data"),
                        LIMITS)
    assert [(a.name, a.data) for a in read.attachments] == [("Biểu 01 LĐVL tháng 2.xls", b"\xd0\xcf\x11\xe0data")]
    assert read.subject == "Báo cáo"
    assert read.not_taken == ()  # the text and HTML bodies are not attachments


def test_a_forwarded_message_gives_the_forwarders_address_and_the_forwarded_files() -> None:
    inner = m.message(m.CAN_LOC_ADDRESS, attachments=[("bc.xlsx", b"inner", m.XLSX)])
    read = read_message(bytes(m.forwarded(m.PROVINCE_ADDRESS, inner)), LIMITS)
    assert read.sender == m.PROVINCE_ADDRESS
    assert [(a.name, a.data) for a in read.attachments] == [("bc.xlsx", b"inner")]


def test_a_zip_is_opened_and_its_spreadsheets_taken_and_the_rest_listed() -> None:
    inner_zip = m.zipped({"x.xlsx": b"deep"})
    data = m.zipped({"Báo cáo/Biểu 01.xlsx": b"one", "Báo cáo/Biểu 03.ods": b"three", "ghi chú.txt": b"note",
                     "cũ.zip": inner_zip})
    read = read_message(bytes(m.message(attachments=[("bao cao.zip", data, "application/zip")])), LIMITS)
    assert [(a.name, a.data, a.within) for a in read.attachments] == [
        ("Biểu 01.xlsx", b"one", "bao cao.zip"), ("Biểu 03.ods", b"three", "bao cao.zip")]
    assert [(n.name, n.reason, n.within) for n in read.not_taken] == [
        ("ghi chú.txt", "not-spreadsheet", "bao cao.zip"), ("cũ.zip", "zip-in-zip", "bao cao.zip")]


def test_a_zip_made_by_an_old_windows_tool_keeps_its_vietnamese_names() -> None:
    legacy = b"Bi\xea\xd2u 01.xlsx"  # "Biểu 01.xlsx" in code page 1258, with no UTF-8 flag: what old tools write
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("abcdefgh.xlsx", b"one")
    raw = buf.getvalue().replace(b"abcdefgh.xlsx", legacy)  # same length: the directory stays valid
    read = read_message(bytes(m.message(attachments=[("a.zip", raw, "application/zip")])), LIMITS)
    assert [(a.name, a.data) for a in read.attachments] == [("Biểu 01.xlsx", b"one")]


def test_a_zip_bomb_is_refused_from_its_directory_before_anything_is_inflated() -> None:
    bomb = m.zipped({"bieu.xlsx": b"\0" * (30 * MB)})
    assert len(bomb) < 100_000
    read = read_message(bytes(m.message(attachments=[("bomb.zip", bomb, "application/zip")])), LIMITS)
    assert read.attachments == ()
    assert [(n.name, n.reason, n.limit) for n in read.not_taken] == [("bomb.zip", "zip-too-large", "100:1")]
    many = m.zipped({f"{i}.xlsx": b"x" for i in range(12)})
    read = read_message(bytes(m.message(attachments=[("many.zip", many, "application/zip")])),
                        Limits(max_zip_members=10))
    assert [(n.reason, n.limit) for n in read.not_taken] == [("zip-too-large", "10 tệp / files")]


def test_a_damaged_or_encrypted_zip_is_listed_not_opened() -> None:
    read = read_message(bytes(m.message(attachments=[("x.zip", b"PK\x03\x04broken", "application/zip")])), LIMITS)
    assert [(n.name, n.reason) for n in read.not_taken] == [("x.zip", "zip-unreadable")]


@pytest.mark.parametrize("headers", [{"Auto-Submitted": "auto-replied"}, {"Precedence": "bulk"},
                                     {"List-Id": "<tin.example.invalid>"}])
def test_automatic_messages_are_recognised_so_they_are_never_answered(headers: dict[str, str]) -> None:
    assert read_message(bytes(m.message(headers=headers)), LIMITS).automatic
    assert read_message(bytes(m.message("MAILER-DAEMON@example.invalid")), LIMITS).automatic


def test_a_message_with_two_from_addresses_has_no_sender() -> None:
    msg = m.message()
    msg.replace_header("From", f"{m.CAN_LOC_ADDRESS}, someone@example.invalid")
    assert read_message(bytes(msg), LIMITS).sender == ""


def test_garbage_is_read_without_crashing() -> None:
    read = read_message(b"\xff\xfe\x00garbage\r\n\r\n\x00", LIMITS)
    assert (read.sender, read.attachments) == ("", ())


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",),  # what a mail program can put in a header at all
                              blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
               min_size=1, max_size=120))
def test_any_attachment_name_comes_back_as_a_clean_file_name(name: str) -> None:
    msg = m.message(attachments=[(name + ".xlsx", b"data", m.XLSX)])
    (att,) = read_message(bytes(msg), LIMITS).attachments
    assert att.name == clean_name(name + ".xlsx")
    assert "/" not in att.name and "\\" not in att.name and "\x00" not in att.name
    assert 0 < len(att.name) <= 200


def test_clean_name_never_keeps_a_path() -> None:
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("C:\\Users\\x\\bc.xlsx") == "bc.xlsx"
    assert clean_name("\x00\x1b[31m") == "[31m"
    assert clean_name("") == "tep-dinh-kem"


# -- who may send ----------------------------------------------------------------------------------------------

def test_the_recipients_file_says_which_unit_each_address_delivers_for() -> None:
    addresses = sender_units(recipients(), PROVINCE)
    assert addresses[m.CAN_LOC_ADDRESS] == addresses["ketoan.canloc@example.invalid"] == m.CAN_LOC
    assert addresses[m.PROVINCE_ADDRESS] == PROVINCE == "42"
    assert check_sender(m.CAN_LOC_ADDRESS.upper(), "", addresses, "") == SenderCheck(m.CAN_LOC, "")
    assert check_sender("stranger@example.invalid", "", addresses, "").reason == "unknown-sender"
    assert check_sender("", "", addresses, "").reason == "unknown-sender"


def test_an_address_listed_for_two_units_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"recipients.yaml: A@x.vn is listed for units 443 and 437; an address may "
                                         r"deliver for one unit only"):
        sender_units({"units": {"443": ["a@x.vn"]}, "senders": {"437": ["A@x.vn"]}}, PROVINCE)


AUTHSERV = "mail.soldtbxh.example.invalid"


@pytest.mark.parametrize(("results", "ok"), [
    (f"{AUTHSERV}; dmarc=pass header.from=example.invalid", True),
    (f"{AUTHSERV}; dkim=pass header.d=example.invalid; spf=fail smtp.mailfrom=x@evil.invalid", True),
    (f"{AUTHSERV}; spf=pass smtp.mailfrom=phongldtbxh.canloc@example.invalid", True),
    (f"{AUTHSERV}; dkim=pass header.d=evil.invalid; spf=pass smtp.mailfrom=a@evil.invalid", False),  # not aligned
    (f"{AUTHSERV}; dmarc=fail header.from=example.invalid", False),
    ("forged.example; dmarc=pass header.from=example.invalid", False),  # another server's word
    ("", False),
])
def test_a_message_is_authenticated_only_by_the_trusted_servers_verdict(results: str, ok: bool) -> None:
    assert authenticated(results, m.CAN_LOC_ADDRESS, AUTHSERV) is ok
    check = check_sender(m.CAN_LOC_ADDRESS, results, sender_units(recipients(), PROVINCE), AUTHSERV)
    assert check.reason == ("" if ok else "not-authenticated")


def test_only_the_topmost_authentication_results_header_counts() -> None:
    msg = m.message(headers={"Authentication-Results": f"{AUTHSERV}; dmarc=fail header.from=example.invalid"})
    msg["Authentication-Results"] = f"{AUTHSERV}; dmarc=pass header.from=example.invalid"  # added by the sender
    read = read_message(bytes(msg), LIMITS)
    assert not authenticated(read.authentication_results, read.sender, AUTHSERV)


def test_the_receipt_lists_each_file_with_its_receipt_code_then_what_was_not_taken() -> None:
    from ingest.doors.receipts import receipt

    msg = m.message(attachments=[("bc.xlsx", b"x", m.XLSX), ("cv.pdf", b"%PDF", "application/pdf")])
    read = read_message(bytes(msg), LIMITS)
    alert = receipt("key1", read, m.CAN_LOC, dt.datetime(2024, 3, 5, 2, 30), [("bc.xlsx", "ab" * 32, False)], "",
                    40 * MB)
    assert (alert.kind, alert.recipients, alert.unit_code, alert.in_reply_to) == (
        "receipt", (m.CAN_LOC_ADDRESS,), m.CAN_LOC, str(msg["Message-ID"]))
    assert alert.subject == "[sectorstats] Đã nhận thư / Received: Báo cáo tháng 2/2024"
    assert alert.body.splitlines()[:3] == [
        "Hệ thống báo cáo ngành Lao động - Thương binh và Xã hội đã nhận thư gửi lúc 05/03/2024 09:30:",
        "- «bc.xlsx»: đã nhận, mã tiếp nhận abababababababab. Kết quả kiểm tra sẽ được gửi sau.",
        "- «cv.pdf»: không phải bảng tính nên không được tiếp nhận."]
    refused = receipt("key2", read, None, dt.datetime(2024, 3, 5, 2, 30), [], "message-too-large", 40 * MB)
    assert refused.body.splitlines()[1] == ("- Thư quá lớn (giới hạn 40 MB) nên chưa được tiếp nhận. Vui lòng gửi "
                                            "riêng từng tệp báo cáo.")
