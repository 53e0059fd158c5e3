"""Browser sessions: the API token sealed (encrypted and signed) in a cookie, and CSRF tokens.

The cookie never holds the token in clear: it is a Fernet token (AES-CBC + HMAC-SHA256) that only
this server can open, and it expires after ``SESSION_MAX_AGE_S``. Every request re-checks the token
against the database, so revoking an API token also ends the browser sessions made with it.

CSRF: each browser gets a random ``circlet_csrf`` cookie; forms carry ``HMAC(key, cookie)``. A
cross-site page can neither read the cookie nor compute the HMAC (and the cookies are SameSite=Strict).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

SESSION_COOKIE = "circlet_session"
CSRF_COOKIE = "circlet_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_MAX_AGE_S = 14 * 24 * 3600  # seconds
KEY_FILE = "web-session.key"


class SessionCodec:
    """Seals and opens session cookies and derives CSRF tokens from one secret key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(key[:32]))
        self._mac_key = hashlib.sha256(b"circlet-csrf:" + key).digest()

    def seal(self, api_token: str) -> str:
        return self._fernet.encrypt(json.dumps({"t": api_token}).encode()).decode()

    def open(self, cookie: str | None, *, max_age_s: int = SESSION_MAX_AGE_S) -> str | None:
        """The API token inside a session cookie, or None when it is forged, damaged or too old."""
        if not cookie:
            return None
        try:
            payload = json.loads(self._fernet.decrypt(cookie.encode(), ttl=max_age_s))
        except (InvalidToken, ValueError):
            return None
        token = payload.get("t") if isinstance(payload, dict) else None
        return token if isinstance(token, str) and token else None

    def csrf_token(self, seed: str) -> str:
        return hmac.new(self._mac_key, seed.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, seed: str | None, given: str | None) -> bool:
        if not seed or not given:
            return False
        return hmac.compare_digest(self.csrf_token(seed), given)


def new_csrf_seed() -> str:
    return secrets.token_urlsafe(24)


def session_key(data_dir: Path, secret_key: str = "") -> bytes:
    """32 bytes: derived from the configured secret, else kept in a key file in the data dir."""
    if secret_key:
        return hashlib.sha256(b"circlet-web-session:" + secret_key.encode()).digest()
    path = data_dir / KEY_FILE
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = b""
    if len(key) >= 32:  # noqa: PLR2004
        return key[:32]
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:  # O_EXCL: when two servers start at once, the second one reads the first one's key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return session_key(data_dir)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)
    return key
