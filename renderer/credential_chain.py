"""The certificate chain that signs Content Credentials (C2PA) in development.

C2PA validators accept a claim signature only from an X.509 end-entity certificate that meets
the C2PA profile (C2PA 2.x, section "Certificate profile"): version 3, not a CA
(basicConstraints cA false), keyUsage digitalSignature (critical), an extendedKeyUsage that names
one of the uses C2PA allows (here id-kp-emailProtection, which every validator accepts, and the
C2PA-specific id-kp 1.3.6.1.4.1.62558.2.1 is not yet recognised by all), an authority key
identifier, and not self-signed. So a bare self-signed key is not enough: a small CA issues the
signing certificate, and the chain (signer, then CA) goes into every manifest.

ES256 (ECDSA on P-256 with SHA-256): the algorithm every C2PA validator implements and the one
the public trust lists' certificates use; Ed25519 is also in the C2PA list, but fewer deployed
validators and hardware keys support it. A production chain from a real CA may use any
algorithm `signing_algorithm` recognises.

Pure: `cryptography` only; where the files live is the portal's business (portal.mixes.keys).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = dt.timedelta(days=10 * 365)
SIGNER_VALIDITY = dt.timedelta(days=2 * 365)
# Issued a few minutes in the past: a validator whose clock runs slightly behind ours still sees
# the certificate as valid at signing time.
CLOCK_SKEW = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class DevelopmentChain:
    ca_cert_pem: bytes
    ca_key_pem: bytes
    signer_chain_pem: bytes  # the signing certificate, then the CA's: what a manifest carries
    signer_key_pem: bytes


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Stemvault"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Development (untrusted)"),
        ]
    )


def _key_usage(*, digital_signature: bool, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def development_chain(now: dt.datetime) -> DevelopmentChain:
    """A fresh CA and a C2PA signing certificate it issued, valid from `now` (UTC)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Stemvault Development Content Credentials CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(digital_signature=False, cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name("Stemvault Content Credentials"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + SIGNER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return DevelopmentChain(
        ca_cert_pem=ca.public_bytes(pem),
        ca_key_pem=_pkcs8(ca_key),
        signer_chain_pem=signer.public_bytes(pem) + ca.public_bytes(pem),
        signer_key_pem=_pkcs8(key),
    )


def signing_algorithm(private_key_pem: bytes) -> str:
    """The C2PA algorithm name for a private key: es256/es384/es512 by curve, ed25519, or ps256
    for RSA (C2PA allows RSA only with PSS padding). ValueError for anything else."""
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in by_curve:
            return by_curve[key.curve.name]
        raise ValueError(f"C2PA does not sign with the elliptic curve {key.curve.name}")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    raise ValueError(f"C2PA does not sign with a {type(key).__name__}")
