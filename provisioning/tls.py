"""A small private CA for the broker's TLS listener: CA certificate and a server certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _write_key(path: Path, key) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))


def make_ca(folder: Path, name: str = "VHD Gate broker CA", days: int = 3650) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    _write_key(folder / "ca.key", key)
    (folder / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return folder / "ca.crt", folder / "ca.key"


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})*")


def server_names(names: list[str]) -> list[str]:
    """The names gates may reach the broker by, as a certificate holds them: IP addresses, and DNS
    names with a Vietnamese one in its ASCII form (máychủ.vn as xn--mych-...); ValueError naming
    the first that is neither."""
    out = []
    for given in names:
        n = given.strip().rstrip(".")
        try:
            out.append(str(ipaddress.ip_address(n)))
            continue
        except ValueError:
            pass
        try:
            n = n.encode("idna").decode("ascii")
        except UnicodeError:
            n = ""
        if not (_DNS_NAME.fullmatch(n) and len(n) <= 253):
            raise ValueError(f"--hostname {given[:80]!r}: a DNS name (letters, digits, '-' and '.') or an IP address")
        out.append(n.lower())
    if not out:
        raise ValueError("--hostname: at least one name or IP address gates connect to")
    return out


def make_server_cert(folder: Path, names: list[str], days: int = 825) -> tuple[Path, Path]:
    """A certificate for the broker, signed by the CA in `folder`, valid for `names` (DNS or IP,
    as server_names gives them)."""
    ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{folder / 'ca.key'} is not the EC key make_ca writes")
    ca_cert = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if len(names[0]) <= 64
                                                     else "VHD Gate broker")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write_key(folder / "server.key", key)
    (folder / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return folder / "server.crt", folder / "server.key"
