"""One rule set for a person's fields, wherever they are typed: ASCII digits and letters only."""

import pytest

from protocol.event import citizen_id_ok
from protocol.person import normalise_insurance, normalise_name, normalise_phone


@pytest.mark.parametrize("text, phone", [
    ("0912345678", "0912345678"), ("091 234 5678", "0912345678"), ("+84912345678", "0912345678"),
    ("84912345678", "0912345678"), ("0212345678", None), ("091234567", None),
    ("０９１２３４５６７８", None),  # fullwidth digits
    ("٠٩١٢٣٤٥٦٧٨", None),  # Arabic-Indic digits
    ("09１2345678", None),
])
def test_phones(text, phone):
    assert normalise_phone(text) == phone


@pytest.mark.parametrize("text, ok", [("079203001234", True), ("07920300123", False), ("０79203001234", False),
                                      ("079203001234 ", False), ("७९२०३००१२३४५", False)])
def test_citizen_ids(text, ok):
    assert citizen_id_ok(text) is ok


@pytest.mark.parametrize("text, card", [
    ("dn4797914400001", "DN4797914400001"), ("DN4797914400001", "DN4797914400001"),
    ("DN479791440000", None), ("D14797914400001", None),
    ("DΝ4797914400001", None),  # a Greek capital Nu where the N is
    ("DН4797914400001", None),  # a Cyrillic En
    ("DN４797914400001", None),
])
def test_insurance_cards(text, card):
    assert normalise_insurance(text) == card


def test_names_are_stored_as_signed():
    assert normalise_name("  Nguyễn   Thị\\tVân Anh ".replace("\\t", "\t")) == "Nguyễn Thị Vân Anh"
    assert normalise_name("Nguye\u0302\u0303n") == "Nguyễn"  # NFC
    assert normalise_name("") is None and normalise_name("x" * 101) is None


@pytest.mark.parametrize("name", ["Nguyễn Văn A 😀", "Trần ♥ Bình", "Lê Văn 3", "Иван Петров", "范文同", "Ngô\u200bBảo",
                                  "<script>"])
def test_a_name_holds_latin_letters_and_a_names_punctuation_only(name):
    assert normalise_name(name) is None


@pytest.mark.parametrize("name", ["Nguyễn Thị Vân Anh", "ĐẶNG THU HÀ", "Jean-Pierre O'Neil", "Mary J. Smith",
                                  "Hồ Ngọc Hà", "Ưng Hoàng Phúc"])
def test_vietnamese_and_latin_names_pass(name):
    assert normalise_name(name) == name
