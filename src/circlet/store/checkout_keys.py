"""Checkout keys of a project (private halves sealed by the engine). The newest key is preferred."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from circlet.errors import NotFound
from circlet.model.settings import CheckoutKey, CheckoutKeyType
from circlet.store._types import utcnow
from circlet.store.tables_settings import CheckoutKeyRow
from circlet.types import ProjectId


def _key(row: CheckoutKeyRow) -> CheckoutKey:
    return CheckoutKey(
        id=row.id,
        project_id=ProjectId(row.project_id),
        type=CheckoutKeyType(row.type),
        public_key=row.public_key,
        private_key_sealed=row.private_key_sealed,
        fingerprint_md5=row.fingerprint_md5,
        fingerprint_sha256=row.fingerprint_sha256,
        preferred=row.preferred,
        created_at=row.created_at,
    )


async def add_key(
    tx: AsyncSession,
    project_id: str,
    *,
    type: CheckoutKeyType,
    public_key: str,
    private_key_sealed: str,
    fingerprint_md5: str,
    fingerprint_sha256: str,
) -> CheckoutKey:
    """Store a new key and make it the preferred one."""
    await tx.execute(
        update(CheckoutKeyRow).where(CheckoutKeyRow.project_id == project_id).values(preferred=False)
    )
    row = CheckoutKeyRow(
        id=str(uuid.uuid4()),
        project_id=project_id,
        type=type.value,
        public_key=public_key,
        private_key_sealed=private_key_sealed,
        fingerprint_md5=fingerprint_md5,
        fingerprint_sha256=fingerprint_sha256,
        preferred=True,
        created_at=utcnow(),
    )
    tx.add(row)
    await tx.flush()
    return _key(row)


async def list_keys(tx: AsyncSession, project_id: str) -> list[CheckoutKey]:
    rows = await tx.scalars(
        select(CheckoutKeyRow)
        .where(CheckoutKeyRow.project_id == project_id)
        .order_by(CheckoutKeyRow.created_at.desc(), CheckoutKeyRow.id)
    )
    return [_key(r) for r in rows]


async def find_key(tx: AsyncSession, project_id: str, fingerprint: str) -> CheckoutKey | None:
    row = await tx.scalar(
        select(CheckoutKeyRow).where(
            CheckoutKeyRow.project_id == project_id,
            or_(
                CheckoutKeyRow.fingerprint_md5 == fingerprint,
                CheckoutKeyRow.fingerprint_sha256 == fingerprint,
            ),
        )
    )
    return _key(row) if row else None


async def delete_key(tx: AsyncSession, project_id: str, key_id: str) -> None:
    """Delete a key; when it was preferred, the newest remaining key becomes preferred."""
    result = await tx.execute(
        delete(CheckoutKeyRow).where(CheckoutKeyRow.project_id == project_id, CheckoutKeyRow.id == key_id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("Checkout key not found.")
    remaining = await list_keys(tx, project_id)
    if remaining and not any(k.preferred for k in remaining):
        await tx.execute(
            update(CheckoutKeyRow).where(CheckoutKeyRow.id == remaining[0].id).values(preferred=True)
        )
