"""Encryption of secrets at rest (provider API keys) with MultiFernet, so keys can rotate."""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        digest = hashlib.sha256(f"m1-playground-fields:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("The stored secret cannot be decrypted with the configured keys.") from exc


def rotate(token: str) -> str:
    """Re-encrypt with the newest key (``manage.py rotate_keys``)."""
    return _fernet().rotate(token.encode()).decode() if token else ""


def mask(plaintext: str) -> str:
    if not plaintext:
        return ""
    return f"••••{plaintext[-4:]}" if len(plaintext) >= 12 else "••••"
