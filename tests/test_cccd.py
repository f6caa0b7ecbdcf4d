import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.cccd import CccdError, parse_cccd
from protocol.credential import CCCD, INVALID_CCCD, NOT_A_DECLARATION, UNKNOWN, classify
from protocol.token import TrustStore
from tests.conftest import (
    SEVEN,  # noqa: E402
    T,
)

SIX = "001190012345||Đặng Thu Hà|02/03/1985|Nữ|Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội"


def test_seven_field_card():
    c = parse_cccd(SEVEN)
    assert (c.citizen_id, c.old_id, c.name) == ("079203001234", "025123456", "Nguyễn Thị Vân Anh")
    assert c.birth_date == date(1990, 1, 1) and c.issue_date == date(2021, 8, 15)
    assert c.sex == "F"


def test_six_field_variant_with_slashed_dates_and_empty_old_id():
    c = parse_cccd(SIX)
    assert c.old_id == "" and c.birth_date == date(1985, 3, 2) and c.issue_date is None


@pytest.mark.parametrize("mangle", [
    lambda s: "\ufeff" + s,
    lambda s: s + "\r\n",
    lambda s: s.replace(" ", "\u00a0"),
    lambda s: unicodedata.normalize("NFD", s),
    lambda s: "\ufeff" + unicodedata.normalize("NFD", s).replace(" ", "\u00a0") + "\n",
])
def test_tolerates_bom_line_ends_nbsp_and_nfd(mangle):
    c = parse_cccd(mangle(SEVEN))
    assert c.name == "Nguyễn Thị Vân Anh"
    assert unicodedata.is_normalized("NFC", c.name)


@pytest.mark.parametrize("bad", [
    SEVEN.replace("079203001234", "07920300123"),  # 11 digits
    SEVEN.replace("079203001234", "07920300123X"),
    SEVEN.replace("01011990", "31021990"),  # no 31 February
    SEVEN.replace("01011990", "1990-01-01"),
    SEVEN.replace("|Nữ|", "|X|"),
    SEVEN.replace("Nguyễn Thị Vân Anh", ""),
    SEVEN.replace("Nguyễn Thị Vân Anh", "Robert'); DROP TABLE--"),
    SEVEN.replace("15082021", "15081980"),  # issued before birth
    SEVEN.replace("025123456", "0251"),
    SEVEN + "|extra|fields",
    "079203001234|only|three",
    SEVEN.replace("|Nữ|", "|Nữ\n|"),
    SEVEN.replace("079203001234", "０７９２０３００１２３４"),  # full-width: looks like the real id, never found by it
    SEVEN.replace("079203001234", "٠٧٩٢٠٣٠٠١٢٣٤"),  # Arabic-Indic digits
    SEVEN.replace("01011990", "０１０１１９９０"),
    SEVEN.replace("025123456", "０２５１２３４５６"),
])
def test_rejects_with_reason(bad):
    with pytest.raises(CccdError):
        parse_cccd(bad)
    assert classify(bad, TrustStore(), T).reason in (INVALID_CCCD, NOT_A_DECLARATION)


def test_classify_card_and_refusal_by_policy():
    c = classify(SEVEN, TrustStore(), T)
    assert c.kind == CCCD and c.accepted and c.credential.subject == "079203001234"
    assert classify(SEVEN, TrustStore(), T, accept_cccd=False).reason == "cccd_not_accepted"


@pytest.mark.parametrize("junk", [
    "https://tokhaiyte.vn/?page=Declaration",
    "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH",  # an EU DCC
    "WIFI:S:office;T:WPA;P:secret;;",
    "x" * 2048,
    "\x00\x01\x02\xff",
    "",
    "123456789012",
    "|||||||",
])
def test_everything_else_is_unknown(junk):
    c = classify(junk, TrustStore(), T)
    assert c.kind == UNKNOWN and c.reason == NOT_A_DECLARATION and not c.accepted


@given(st.text(max_size=700))
def test_any_text_classifies_without_exception(text):
    c = classify(text, TrustStore(), T)
    assert c.accepted or c.reason


@given(st.binary(max_size=700))
def test_any_bytes_classify_without_exception(blob):
    c = classify(blob.decode("utf-8", "replace"), TrustStore(), T)
    assert c.accepted or c.reason


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="|"), max_size=30),
                min_size=6, max_size=7))
def test_card_shaped_text_is_card_or_refusal(fields):
    fields[0] = "079203001234"
    c = classify("|".join(fields), TrustStore(), T)
    assert c.kind == CCCD
    assert c.accepted or c.reason == INVALID_CCCD


NO_OLD_ID = "001190012345|Đặng Thu Hà|02/03/1985|Nữ|Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội|10/07/2021"


@pytest.mark.parametrize("text, old_id, issued", [
    (SEVEN, "025123456", date(2021, 8, 15)),
    (SIX, "", None),
    (NO_OLD_ID, "", date(2021, 7, 10)),
    (NO_OLD_ID.replace("02/03/1985", "02031985"), "", date(2021, 7, 10)),
    ("079203001234|079100001111|Lê Hoàng Phúc|05051979|Nam|Quận 3, TP.HCM", "079100001111", None),
], ids=["seven", "six-no-issue-date", "six-no-old-id", "six-no-old-id-compact", "six-12-digit-old-id"])
def test_every_variant_read_from_a_real_qr_image(text, old_id, issued):
    """Each field variant as a printed card QR, through both real decoders, then the parser."""
    from drivers.decoder import make_decoder
    from sim.frames import Shot, compose, render_qr

    frame = compose(render_qr(text, ec="L"), Shot(size=300, angle=8), seed=4)
    for name in ("zxing", "zbar"):
        found = make_decoder(name).decode(frame)
        assert [d.text for d in found] == [text], name
        card = parse_cccd(found[0].text)
        assert (card.old_id, card.issue_date) == (old_id, issued)
        assert card.name in ("Nguyễn Thị Vân Anh", "Đặng Thu Hà", "Lê Hoàng Phúc")
        assert classify(found[0].text, TrustStore(), T).accepted


@pytest.mark.parametrize("bad", [
    NO_OLD_ID.replace("Đặng Thu Hà", "Đặng Thu 4"),  # a second field that is neither old id nor name
    NO_OLD_ID.replace("|Nữ|", "|?|"),
    NO_OLD_ID.replace("10/07/2021", "10/07/1980"),  # issued before birth
    NO_OLD_ID.replace("Đặng Thu Hà", "0251"),  # a short number: not an old id, not a name
    "001190012345|Đặng Thu Hà|02/03/1985|Nữ|Hà Nội",  # five fields
])
def test_malformed_six_field_cards_still_refused(bad):
    with pytest.raises(CccdError):
        parse_cccd(bad)


def test_a_name_the_centre_would_refuse_is_refused_at_the_door():
    long_name = "Nguyễn " * 30  # 240 bytes in UTF-8: over the event's 160
    text = SEVEN.replace("Nguyễn Thị Vân Anh", long_name.strip())
    assert classify(text, TrustStore(), T).reason == INVALID_CCCD
