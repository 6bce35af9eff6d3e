"""Passwords, API keys and session tokens.

Passwords are hashed with argon2id (argon2-cffi's defaults). API keys and session tokens are
256-bit random strings, so a single SHA-256 is enough to store them: nobody can brute-force
that space, and a fast hash keeps every ingest request from paying argon2's ~50 ms.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
KEY_PREFIX = "clk_"
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify() -> None:
    """Spend the time a real check takes, so unknown emails cannot be told apart by timing."""
    verify_password(_DUMMY, "not the password")


_DUMMY = _hasher.hash("chatlens-dummy-password")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
