"""Encryption of personal data at rest (SPEC §12) and blind indexes for lookups.

One configured secret (``RAPPORT_ENCRYPTION_KEY``: 32 random bytes, URL-safe base64) is
stretched with HKDF into independent keys: one for AES-256-GCM (the ``cryptography``
package), one for the blind index (HMAC-SHA256 of the normalised phone or e-mail, truncated to
16 bytes, so equal values can be found without decrypting anything). Ciphertext layout: one
version byte, the 12-byte random nonce, then the AES-GCM output (ciphertext and tag); the
column name is the associated data, so a phone ciphertext cannot be passed off as an e-mail.

A third derived key makes the key's *fingerprint* (:meth:`PersonalDataCipher.fingerprint`), which
the database keeps (:mod:`storage.key_check`) so that a process started with another key is
refused before it writes anything; the fingerprint reveals nothing about the key itself.

Neither the key nor a plaintext is ever logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.core.records import PersonalDataError, decode_master_key, derive_key

_VERSION = b"\x01"
_NONCE = 12
INDEX_BYTES = 16
#: HKDF purposes of the derived keys; changing one makes every stored value unreadable.
DATA_PURPOSE = "rapport personal data v1"
INDEX_PURPOSE = "rapport blind index v1"
CHECK_PURPOSE = "rapport key check v1"
#: The fixed message whose HMAC under the check key is the key's fingerprint.
FINGERPRINT_LABEL = b"rapport encryption key fingerprint"
#: Every column that holds AES-GCM ciphertext (the column name is its associated data).
ENCRYPTED_COLUMNS = ("phone", "email", "birthday")
#: The columns whose values also have a blind index (``<kind>_index``).
INDEXED_COLUMNS = ("phone", "email")


def new_key() -> str:
    """A fresh key for ``RAPPORT_ENCRYPTION_KEY``."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


class PersonalDataCipher:
    """Encrypts, decrypts and blind-indexes personal data with keys derived from one secret."""

    def __init__(self, master_key: str) -> None:
        master = decode_master_key(master_key)
        self._aead = AESGCM(derive_key(master, DATA_PURPOSE))
        self._index_key = derive_key(master, INDEX_PURPOSE)
        self._fingerprint = hmac.new(
            derive_key(master, CHECK_PURPOSE), FINGERPRINT_LABEL, hashlib.sha256
        ).digest()

    def __repr__(self) -> str:
        return "PersonalDataCipher(<key hidden>)"

    def fingerprint(self) -> bytes:
        """32 bytes that identify the key: an HMAC of a fixed label under a key derived for
        this purpose alone, so it can be stored beside the data without weakening it."""
        return self._fingerprint

    def matches(self, fingerprint: bytes) -> bool:
        """True when `fingerprint` is this key's (compared in constant time)."""
        return hmac.compare_digest(self._fingerprint, fingerprint)

    def encrypt(self, value: str, column: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, value.encode(), column.encode())

    def decrypt(self, blob: bytes, column: str) -> str:
        if not blob.startswith(_VERSION):
            raise PersonalDataError(f"unknown ciphertext version in {column}")
        nonce, body = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        try:
            return self._aead.decrypt(nonce, body, column.encode()).decode()
        except InvalidTag:
            raise PersonalDataError(
                f"cannot decrypt {column}: the encryption key is not the one it was written with"
            ) from None

    def blind_index(self, value: str, kind: str) -> bytes:
        """Keyed digest of an already normalised value (`kind`: ``phone`` or ``email``)."""
        message = f"{kind}:{value}".encode()
        return hmac.new(self._index_key, message, hashlib.sha256).digest()[:INDEX_BYTES]


def cipher_from_key(key: str | None) -> PersonalDataCipher | None:
    return None if not key else PersonalDataCipher(key)
