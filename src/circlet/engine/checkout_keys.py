"""Checkout keys: ed25519 SSH key pairs generated per project, fingerprinted as CircleCI shows them.

The private half is sealed at rest. Jobs of a project whose repository URL is an SSH URL receive the
preferred key as ``CHECKOUT_KEY`` (and ``CHECKOUT_KEY_PUBLIC``), the variables CircleCI sets.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.engine import access
from circlet.engine.secrets import box_for
from circlet.errors import BadRequest, NotFound
from circlet.model.accounts import Project, User
from circlet.model.settings import CheckoutKey, CheckoutKeyType
from circlet.store import checkout_keys as key_store

KEY_COMMENT = "circlet"
INPUT_TYPES = {"deploy-key": CheckoutKeyType.DEPLOY_KEY, "user-key": CheckoutKeyType.USER_KEY}


def generate_key_pair() -> tuple[str, str]:
    """(private key in OpenSSH PEM form, public key in ``ssh-ed25519 AAAA... comment`` form)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, f"{public.decode()} {KEY_COMMENT}"


def fingerprints(public_key: str) -> tuple[str, str]:
    """(MD5 as ``aa:bb:...``, ``SHA256:base64``) of an OpenSSH public key, as ``ssh-keygen -l`` prints."""
    blob = base64.b64decode(public_key.split()[1])
    md5 = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    sha256 = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return ":".join(md5[i : i + 2] for i in range(0, len(md5), 2)), f"SHA256:{sha256}"


async def create_key(tx: AsyncSession, user: User, slug: str, key_type: str) -> CheckoutKey:
    """Generate a key for the project; the new key becomes the preferred one."""
    project = await access.project_for(tx, user, slug)
    if key_type not in INPUT_TYPES:
        raise BadRequest("type must be 'deploy-key' or 'user-key'.")
    private, public = generate_key_pair()
    md5, sha256 = fingerprints(public)
    return await key_store.add_key(
        tx,
        project.id,
        type=INPUT_TYPES[key_type],
        public_key=public,
        private_key_sealed=box_for(tx).seal(private),
        fingerprint_md5=md5,
        fingerprint_sha256=sha256,
    )


async def list_keys(tx: AsyncSession, user: User, slug: str) -> list[CheckoutKey]:
    project = await access.project_for(tx, user, slug)
    return await key_store.list_keys(tx, project.id)


async def get_key(tx: AsyncSession, user: User, slug: str, fingerprint: str) -> CheckoutKey:
    """A key by either fingerprint form."""
    project = await access.project_for(tx, user, slug)
    key = await key_store.find_key(tx, project.id, fingerprint)
    if key is None:
        raise NotFound("Checkout key not found.")
    return key


async def delete_key(tx: AsyncSession, user: User, slug: str, fingerprint: str) -> None:
    key = await get_key(tx, user, slug, fingerprint)
    await key_store.delete_key(tx, key.project_id, key.id)


def is_ssh_url(url: str) -> bool:
    return url.startswith(("ssh://", "git@")) or (
        "://" not in url and ":" in url.split("/", 1)[0] and "@" in url.split(":", 1)[0]
    )


async def checkout_environment(tx: AsyncSession, project: Project) -> dict[str, str]:
    """``CHECKOUT_KEY``/``CHECKOUT_KEY_PUBLIC`` for SSH repositories with a key; empty otherwise."""
    if not is_ssh_url(project.repo_url):
        return {}
    preferred = next((k for k in await key_store.list_keys(tx, project.id) if k.preferred), None)
    if preferred is None:
        return {}
    return {
        "CHECKOUT_KEY": box_for(tx).open(preferred.private_key_sealed),
        "CHECKOUT_KEY_PUBLIC": preferred.public_key,
    }
