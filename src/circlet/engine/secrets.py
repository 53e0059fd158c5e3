"""Encryption of secrets at rest (Fernet), the server's key, and CircleCI's masking of values.

The composition root (``create_app``, and CLI commands that seal or open values) builds one
:class:`SecretBox` with :func:`open_box` (``CIRCLET_SECRET_KEY`` or a ``secret.key`` file created in the
data dir with mode 0600) and gives it to its :class:`~circlet.store.db.Store` (``shared={BOX: box}`` or
``store.share(BOX, box)``). The store puts it in every transaction's ``info``, and engine functions take it
from their transaction with :func:`box_for`: there is no process-wide registry, two stores in one process
may hold different keys, and nothing below the composition root reads settings.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import CIError

KEY_FILE = "secret.key"
BOX = "secret_box"  #: the name under which a store gives its transactions the box
MASK_PREFIX = "xxxx"
SHOWN_SUFFIX = 4  #: characters of a value that masking keeps visible
MIN_SHOWN_LENGTH = 8  #: shorter values are masked entirely, so the suffix never reveals half a secret


class SecretsUnavailable(CIError):
    """Secrets cannot be read: the server's secret key is missing or does not match the stored values."""


class SecretBox:
    """Seals and opens values with Fernet. Several keys (comma-separated) allow rotation: the first one
    seals, every one opens."""

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("no secret key given")
        self._fernet = MultiFernet([Fernet(_as_fernet_key(k)) for k in parts])

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except InvalidToken as exc:
            raise SecretsUnavailable() from exc


def _as_fernet_key(key: str) -> bytes:
    """A Fernet key as given, or one derived (SHA-256) from any other passphrase."""
    try:
        if len(base64.urlsafe_b64decode(key.encode())) == 32:  # noqa: PLR2004
            return key.encode()
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest())


def load_key(configured: str, data_dir: Path) -> str:
    """The configured key, or the data dir's key file (created with mode 0600 on first use)."""
    if configured:
        return configured
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(Fernet.generate_key().decode() + "\n")
    return path.read_text().strip()


def open_box(configured: str, data_dir: Path) -> SecretBox:
    """The server's box: the configured key(s), else the data dir's key file."""
    return SecretBox(load_key(configured, data_dir))


def box_for(tx: AsyncSession) -> SecretBox:
    """The box the transaction's store was given by the composition root."""
    box = tx.info.get(BOX)
    if not isinstance(box, SecretBox):
        raise SecretsUnavailable("Secrets are not available: the server has no secret key configured.")
    return box


def mask(value: str) -> str:
    """CircleCI's masked form: ``xxxx`` followed by the value's last four characters."""
    if len(value) < MIN_SHOWN_LENGTH:
        return MASK_PREFIX
    return MASK_PREFIX + value[-SHOWN_SUFFIX:]
