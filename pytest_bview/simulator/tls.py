"""https for the reference camera (`bview-sim --https`): a self-signed certificate made on first use.

Rule 1: the certificate and its key live in `<state dir>/tls/` and are reused while they cover the
        address the camera serves; a client verifies the camera with `--bview-ca <state dir>/tls/cert.pem`
        (the path is in the ready line as "certificate"), never by switching verification off.
Rule 2: the key file is private to the user (0600); the certificate names localhost, 127.0.0.1, ::1
        and the bind address, and is valid for ten years from a day ago (clock skew).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from pathlib import Path

VALID_DAYS = 3650


def _names(bind: str) -> list[str]:
    names = ["localhost", "127.0.0.1", "::1"]
    if bind not in ("", "0.0.0.0", "::") and bind not in names:
        names.append(bind)
    return names


def _covers(cert_path: Path, names: list[str]) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, OSError, x509.ExtensionNotFound):
        return False
    have = {str(v) for v in san.get_values_for_type(x509.DNSName)}
    have |= {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    still_valid = cert.not_valid_after_utc > datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    return still_valid and all(str(_ip(n) or n) in have for n in names)


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def certificate(directory: Path, bind: str = "127.0.0.1") -> tuple[Path, Path]:
    """(cert.pem, key.pem) under `directory`/tls, generated when missing or not covering `bind`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = Path(directory) / "tls"
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    names = _names(bind)
    if cert_path.exists() and key_path.exists() and _covers(cert_path, names):
        return cert_path, key_path
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bview-sim reference camera")])
    now = datetime.datetime.now(datetime.UTC)
    alt = [x509.IPAddress(ip) if (ip := _ip(n)) else x509.DNSName(n) for n in names]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem_key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def server_context(directory: Path, bind: str = "127.0.0.1") -> tuple[ssl.SSLContext, Path]:
    """A TLS server context with the camera's certificate, and the certificate's path (for --bview-ca)."""
    cert_path, key_path = certificate(directory, bind)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path
