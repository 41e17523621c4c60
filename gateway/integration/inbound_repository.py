"""Every query of what the OA sends in: its documents (``integration_inbound_document``) and the read
receipts of its to-dos (``integration_read_receipt``). Functions take the caller's session and neither
commit nor decide: who may push, when a repeated document conflicts, what attaching does stay in
``inbound.py``."""

from __future__ import annotations

from sqlmodel import Session, col, select

from gateway.integration.models import InboundDocument, ReadReceipt

# ---------------------------------------------------------------------------------------------
# Documents


def document_by_id(db: Session, doc_pk: int) -> InboundDocument | None:
    return db.get(InboundDocument, doc_pk)


def document_by_doc_id(db: Session, doc_id: str) -> InboundDocument | None:
    """The document the OA sent under its own id ``doc_id``."""
    return db.exec(select(InboundDocument).where(InboundDocument.doc_id == doc_id)).first()


def latest_documents(db: Session, limit: int) -> list[InboundDocument]:
    """The newest ``limit`` documents, newest first."""
    return list(db.exec(select(InboundDocument).order_by(col(InboundDocument.id).desc()).limit(limit)).all())


# ---------------------------------------------------------------------------------------------
# Read receipts


def receipt_of(db: Session, subject: str, oa_login: str) -> ReadReceipt | None:
    """The receipt of ``oa_login`` for the to-do ``subject`` (its flowid)."""
    query = select(ReadReceipt).where(ReadReceipt.subject == subject, ReadReceipt.oa_login == oa_login)
    return db.exec(query).first()


def receipts_of(db: Session, subject: str) -> list[ReadReceipt]:
    """Every receipt of the to-do ``subject`` (its flowid), in reading order."""
    query = select(ReadReceipt).where(ReadReceipt.subject == subject).order_by(col(ReadReceipt.read_at))
    return list(db.exec(query).all())


def latest_receipts(db: Session, limit: int) -> list[ReadReceipt]:
    """The newest ``limit`` receipts, newest first."""
    return list(db.exec(select(ReadReceipt).order_by(col(ReadReceipt.id).desc()).limit(limit)).all())
