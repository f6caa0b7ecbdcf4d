"""Both decoders on generated frames of real QR codes, as a door camera sees them."""

import pytest

from drivers.decoder import DecoderError, make_decoder
from sim.frames import Shot, compose, render_qr

VIET = "079203001234|025123456|Nguyễn Thị Vân Anh|01011990|Nữ|Số 12 Lê Lợi, Quận 1, TP. Hồ Chí Minh|15082021"
SHOTS = {
    "straight": Shot(size=260),
    "rotated-35": Shot(size=230, angle=35),
    "upside-down": Shot(size=230, angle=180),
    "perspective": Shot(size=240, tilt=0.2),
    "blurred": Shot(size=260, blur=1.5),
    "low-contrast": Shot(size=260, low=90, high=160, background=120),
    "dark-mode": Shot(size=260, invert=True, low=20, high=220, background=30),
    "noisy-small": Shot(size=150, noise=8, dx=100, dy=40),
}


@pytest.fixture(scope="module", params=["zxing", "zbar"])
def decoder(request):
    return make_decoder(request.param)


@pytest.mark.parametrize("shot", list(SHOTS), ids=list(SHOTS))
def test_decodes_vietnamese_utf8_card(decoder, shot):
    frame = compose(render_qr(VIET), SHOTS[shot], seed=1)
    found = decoder.decode(frame)
    assert [d.text for d in found] == [VIET]
    assert found[0].raw == VIET.encode("utf-8")


def test_token_payload(decoder, authority):
    token = authority.token(name="Trần Thị Ngọc Ánh")
    found = decoder.decode(compose(render_qr(token), Shot(size=250, angle=-20), seed=2))
    assert [d.text for d in found] == [token]


# Short UTF-8 payloads that zbar itself reads as Shift-JIS, Big5 or Latin-1.
@pytest.mark.parametrize("text", ["Hà", "ÁNH", "Ngô Bảo Châu", "Vũ", "ấy", "é", "Đặng Thu Hà",
                                  "Phạm Văn Đồng — 范文同", "plain ascii 123"])
def test_utf8_text_not_misread_as_shift_jis(decoder, text):
    found = decoder.decode(compose(render_qr(text), Shot(size=220), seed=3))
    assert [d.text for d in found] == [text]


def test_empty_and_blank_frames(decoder):
    import numpy as np

    assert decoder.decode(np.full((480, 640), 128, np.uint8)) == []
    assert decoder.decode(np.random.default_rng(0).integers(0, 255, (480, 640), dtype=np.uint8)) == []


def test_unknown_decoder_is_a_clear_error():
    with pytest.raises(DecoderError, match="unknown decoder"):
        make_decoder("tesseract")
