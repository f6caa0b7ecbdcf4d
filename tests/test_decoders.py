"""Both decoders on generated frames of real QR codes, as a door camera sees them."""

import pytest

from drivers.decoder import DecoderError, make_decoder
from sim.frames import Shot, compose, render_qr

VIET = "079203001234|025123456|Nguyễn Thị Vân Anh|01011990|Nữ|Số 12 Lê Lợi, Quận 1, TP. Hồ Chí Minh|15082021"
VIET_CARD = "079203001234|025123456|Nguyễn Thị Vân Anh|01011990|Nữ|Số 12, Bến Nghé, Quận 1, TP.HCM|15082021"
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


# Near the limit: what the gate's heavier passes read where one zxing pass does not.
DOOR_SHOTS = {
    # modules of 2 px, a hand still moving 4 px during the exposure
    "small-moving": Shot(size=int(53 * 2.0), angle=12, blur=0.6, low=20, high=220, background=120, noise=2,
                         motion=4, motion_angle=30, area_resample=True),
    "small-moving-2.2": Shot(size=int(53 * 2.2), angle=12, blur=0.6, low=20, high=220, background=120, noise=2,
                             motion=4, motion_angle=30, area_resample=True),
}


@pytest.mark.parametrize("shot", list(DOOR_SHOTS), ids=list(DOOR_SHOTS))
def test_heavier_passes_read_where_one_pass_does_not(shot):
    from drivers.decoder import ZxingDecoder

    frame = compose(render_qr(VIET_CARD, box=1, border=4, ec="M"), DOOR_SHOTS[shot], seed=5)
    assert ZxingDecoder(fallback=False).decode(frame) == []  # one zxing pass: nothing
    # What the passes read, whatever this machine's speed: the budget has its own test below.
    assert [d.text for d in ZxingDecoder(budget_ms=10_000).decode(frame)] == [VIET_CARD]


def test_empty_door_frames_get_no_heavy_pass():
    """A door camera sees no code most of the time: the locator stays quiet, so an empty frame
    costs the two cheap passes only."""
    import random

    from drivers.decoder import busy_regions
    from sim.frames import empty_frame

    rng = random.Random(3)
    frames = [empty_frame(rng, seed=i) for i in range(30)]
    assert sum(bool(busy_regions(f)) for f in frames) <= 1
    coded = compose(render_qr(VIET_CARD, box=1, border=4, ec="M"), DOOR_SHOTS["small-moving"], seed=5)
    (x0, y0, x1, y1), = busy_regions(coded)
    assert x0 <= 320 - 53 <= 320 + 53 <= x1 and y0 <= 240 - 53 <= 240 + 53 <= y1  # the code is inside


def test_decoding_stops_at_its_budget():
    """Nothing heavy starts once a frame has used its budget: the scan loop keeps its rate."""
    from drivers.decoder import ZxingDecoder

    class Counting(ZxingDecoder):
        passes = 0

        def _read(self, grey, **options):
            self.passes += 1
            return super()._read(grey, **options)

    # A code the locator finds but nothing can read: too small, too blurred.
    frame = compose(render_qr(VIET_CARD, box=1, border=4, ec="M"),
                    Shot(size=90, blur=2.5, motion=8, low=20, high=220, background=120, area_resample=True), seed=2)
    spent, unlimited = Counting(budget_ms=0), Counting(budget_ms=10_000)
    assert spent.decode(frame) == [] and unlimited.decode(frame) == []
    assert spent.passes <= 2 < unlimited.passes  # the cheap passes, then it stopped


def test_the_held_out_camera_generator_makes_frames_the_gate_reads_and_never_misreads():
    """sim/camera.py (the frames the decoder was never tuned on): a CCCD code through its camera
    effects is read as itself or not at all, most of the time read; an empty frame gives nothing."""
    import random

    from sim.camera import HEIGHT, WIDTH, camera_frame, modules

    rng = random.Random(7)
    gate = make_decoder("zxing")
    frames = [camera_frame(modules(VIET_CARD), rng, 4.0) for _ in range(12)]
    assert all(f.shape == (HEIGHT, WIDTH) for f in frames)
    texts = [[d.text for d in gate.decode(f)] for f in frames]
    assert all(t in ([], [VIET_CARD]) for t in texts), texts
    assert sum(t == [VIET_CARD] for t in texts) >= 6, texts
    assert gate.decode(camera_frame(None, rng)) == []
