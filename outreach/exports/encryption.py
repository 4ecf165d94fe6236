"""Encrypting a partner's list for that partner alone: their RSA public key is in their profile.

The file is encrypted with a fresh AES-256-GCM key, streamed (memory does not grow with the list),
and that key is wrapped with the partner's public key (RSA-OAEP, SHA-256). Only the partner's private
key opens the file; a copy that leaks, a mail sent to the wrong person or a lost USB stick reveals
nothing. Layout of a `.enc` file, so a partner can decrypt it with any standard library:

    b"OUTREACH-ENC1\\n" | key length (2 bytes, big endian) | wrapped key | nonce (12 bytes)
    | ciphertext | GCM tag (16 bytes)
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MAGIC = b"OUTREACH-ENC1\n"
MIN_KEY_BITS = 2048
CHUNK = 1 << 20
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class UnusableKey(ValueError):
    """The partner's public key cannot be used (not a PEM RSA public key, or too short)."""


def load_public_key(path: Path) -> rsa.RSAPublicKey:
    """The partner's RSA public key (PEM), at least 2048 bits."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise UnusableKey(
            f"cannot read a PEM public key from {path.name} ({exc.__class__.__name__})"
        ) from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_KEY_BITS:
        raise UnusableKey(f"{path.name} must hold an RSA public key of at least {MIN_KEY_BITS} bits")
    return key


def encrypt_file(source: Path, target: Path, key: rsa.RSAPublicKey) -> None:
    """Write `source`, encrypted for the holder of `key`'s private key, to `target` (created 0600)."""
    secret, nonce = os.urandom(32), os.urandom(12)
    wrapped = key.encrypt(secret, OAEP)
    encryptor = Cipher(algorithms.AES(secret), modes.GCM(nonce)).encryptor()
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out, source.open("rb") as plain:
        out.write(MAGIC + len(wrapped).to_bytes(2, "big") + wrapped + nonce)
        while chunk := plain.read(CHUNK):
            out.write(encryptor.update(chunk))
        out.write(encryptor.finalize() + encryptor.tag)


def decrypt_file(source: Path, private_key: rsa.RSAPrivateKey) -> bytes:
    """The plain content of an encrypted list (what the partner does; used by the tests)."""
    data = source.read_bytes()
    if not data.startswith(MAGIC):
        raise ValueError("not an outreach encrypted file")
    offset = len(MAGIC)
    length = int.from_bytes(data[offset : offset + 2], "big")
    wrapped = data[offset + 2 : offset + 2 + length]
    nonce = data[offset + 2 + length : offset + 14 + length]
    body, tag = data[offset + 14 + length : -16], data[-16:]
    secret = private_key.decrypt(wrapped, OAEP)
    decryptor = Cipher(algorithms.AES(secret), modes.GCM(nonce, tag)).decryptor()
    return decryptor.update(body) + decryptor.finalize()
