"""Webhook secrets (``whsec_`` + base64 of random bytes), their encryption at rest (AES-GCM with a
key from the environment), and Standard Webhooks signatures over the exact bytes sent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # within the specification's 24-64
_ENC_PREFIX = "v1:"


def new_secret(nbytes: int = SECRET_BYTES) -> str:
    if not 24 <= nbytes <= 64:
        raise ValueError("secret length must be 24-64 bytes")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode()


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


@dataclass(frozen=True)
class SecretBox:
    """Encrypts subscription secrets. The key is derived (SHA-256) from the configured key text, so
    any string of enough entropy works; a wrong key fails loudly on decryption (GCM tag)."""

    key_text: str

    def _aead(self) -> AESGCM:
        return AESGCM(hashlib.sha256(("sortline-integration:" + self.key_text).encode()).digest())

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead().encrypt(nonce, plaintext.encode(), b"whsec")
        return _ENC_PREFIX + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        raw = base64.b64decode(token.removeprefix(_ENC_PREFIX))
        return self._aead().decrypt(raw[:12], raw[12:], b"whsec").decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(id.timestamp.body)>``."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(secret_bytes(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_header(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures: during a rotation's overlap both the new and the old secret sign."""
    return Signer(secrets_).header(msg_id, timestamp, body)


class Signer:
    """``signature_header`` for many messages of one subscription: each secret's HMAC key is
    prepared once and copied per message."""

    def __init__(self, secrets_: list[str]) -> None:
        self._macs = [hmac.new(secret_bytes(s), digestmod=hashlib.sha256) for s in secrets_]

    def header(self, msg_id: str, timestamp: int, body: bytes) -> str:
        prefix = f"{msg_id}.{timestamp}.".encode()
        out = []
        for key in self._macs:
            mac = key.copy()
            mac.update(prefix)
            mac.update(body)
            out.append("v1," + base64.b64encode(mac.digest()).decode())
        return " ".join(out)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk robots: base64 HMAC-SHA256 of ``timestamp\\nsecret`` keyed with the secret."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()
