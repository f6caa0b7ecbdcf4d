import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from protocol import token as tok
from protocol.base45 import Base45Error, b45decode, b45encode
from tests.conftest import DAY, Authority, T

QR_ALNUM = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def test_base45_rfc9285_vectors():
    assert b45encode(b"AB") == "BB8"
    assert b45encode(b"Hello!!") == "%69 VD92EX0"
    assert b45encode(b"base-45") == "UJCLQE7W581"
    assert b45decode("QED8WEX0") == b"ietf!"
    for bad in ("GGW", "A", "abc"):
        try:
            b45decode(bad)
        except Base45Error:
            continue
        raise AssertionError(f"{bad!r} decoded")


@given(st.binary(max_size=300))
def test_base45_round_trip(data):
    assert b45decode(b45encode(data)) == data


def test_token_round_trip_is_qr_alphanumeric(authority):
    text = authority.token()
    assert set(text) <= QR_ALNUM
    t = tok.verify_token(text, authority.trust, T)
    assert t.declaration_id == "VHD-2021-000123"
    assert t.name == "Nguyễn Thị Vân Anh"
    assert t.kid == tok.key_id(authority.key.public_key())
    assert len(text) < 250


def reason(text, trust, now=T):
    try:
        tok.verify_token(text, trust, now)
    except tok.TokenError as exc:
        return exc.reason
    return None


def test_each_refusal_has_its_own_reason(authority):
    good = authority.token()
    body = bytearray(b45decode(good[len(tok.PREFIX):]))
    body[20] ^= 0x01
    tampered = tok.PREFIX + b45encode(bytes(body))
    other = Authority()
    forged = tok.issue_token(other.key, "VHD-2021-000123", "Nguyễn Thị Vân Anh", T - DAY, T + DAY)
    # A forger who copies the real key id still fails on the signature.
    forged_kid = bytearray(b45decode(forged[len(tok.PREFIX):]))
    forged_kid[1:9] = bytes.fromhex(tok.key_id(authority.key.public_key()))
    forged_kid = tok.PREFIX + b45encode(bytes(forged_kid))
    revoked = tok.TrustStore(authority.trust.keys, frozenset([tok.key_id(authority.key.public_key())]))
    assert reason(good, authority.trust) is None
    assert reason(tampered, authority.trust) == tok.BAD_SIGNATURE
    assert reason(forged_kid, authority.trust) == tok.BAD_SIGNATURE
    assert reason(forged, authority.trust) == tok.UNKNOWN_KEY
    assert reason(good, revoked) == tok.REVOKED_KEY
    assert reason(authority.token(exp=T - 1), authority.trust) == tok.EXPIRED
    assert reason(authority.token(iat=T + DAY, exp=T + 2 * DAY), authority.trust) == tok.NOT_YET_VALID
    assert reason(good[:-3], authority.trust) == tok.MALFORMED
    assert reason("VHD1:", authority.trust) == tok.MALFORMED
    # a declaration deleted at the centre: its genuine QR is refused as such; a forgery or an
    # expired one with its id still says what is wrong with it first
    deleted = tok.TrustStore(authority.trust.keys, deleted=frozenset(["VHD-2021-000123"]))
    assert reason(good, deleted) == tok.DELETED_DECLARATION
    assert reason(authority.token(decl="VHD-2021-000124"), deleted) is None
    assert reason(tampered, deleted) == tok.BAD_SIGNATURE
    assert reason(authority.token(exp=T - 1), deleted) == tok.EXPIRED


def test_rotation_old_and_new_keys_both_verify(authority):
    new = Ed25519PrivateKey.generate()
    trust = tok.TrustStore.from_public_keys([authority.public, tok.encode_public_key(new.public_key())])
    assert reason(authority.token(), trust) is None
    assert reason(tok.issue_token(new, "D1", "A", T - 1, T + DAY), trust) is None


def test_issue_rejects_bad_inputs(authority):
    for args in (("", "A", T, T + 1), ("D", "A", T, T), ("D", "x" * 200, T, T + 1)):
        try:
            tok.issue_token(authority.key, *args)
        except ValueError:
            continue
        raise AssertionError(f"issued {args}")


@given(st.text(max_size=400))
def test_verify_any_text_gives_token_or_reason(text):
    trust = tok.TrustStore()
    r = reason(tok.PREFIX + text, trust)
    assert r in (tok.MALFORMED, tok.UNKNOWN_KEY)


@given(st.binary(min_size=0, max_size=400))
def test_verify_any_payload_gives_reason(blob):
    a = _AUTH
    r = reason(tok.PREFIX + b45encode(blob), a.trust)
    assert r in (tok.MALFORMED, tok.UNKNOWN_KEY, tok.BAD_SIGNATURE)


_AUTH = Authority()


def test_a_signed_name_over_the_limit_is_malformed_not_greeted(authority):
    """An issuer bug or an old tool could sign a name over 160 bytes; the bridge would refuse the
    event, so the gate must refuse the token instead of greeting the person."""
    import struct

    tk = tok
    key = Ed25519PrivateKey.generate()
    trust = tk.TrustStore.from_public_keys([tk.encode_public_key(key.public_key())])
    name = ("Nguyễn Thị Vân Anh " * 10).strip().encode()  # 239 bytes
    kid = bytes.fromhex(tk.key_id(key.public_key()))
    body = struct.pack(">B8sII", 1, kid, T - 10, T + 1000) + bytes([6]) + b"VHD-01" + bytes([len(name)]) + name
    text = tk.PREFIX + b45encode(body + key.sign(tk.DOMAIN + body))
    with pytest.raises(tk.TokenError) as err:
        tk.verify_token(text, trust, T)
    assert err.value.reason == tk.MALFORMED
