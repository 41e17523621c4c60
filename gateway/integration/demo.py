"""The demo's webhook subscription: one ``standard`` subscription to the small receiver that
``sortline receiver`` (and ``sortline run --demo``) starts, so a newcomer sees deliveries in the log."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import Engine

from gateway import repository
from gateway.integration import feed_repository
from gateway.integration import subscriptions as subs
from gateway.integration.config import IntegrationSettings
from gateway.integration.crypto import SecretBox
from gateway.integration.receiver import demo_secret_path
from gateway.security import user_principal
from services.common.db import session_scope

DEMO_NAME = "示例接收器（sortline receiver）"


def receiver_port() -> int:
    return int(os.environ.get("SORTLINE_RECEIVER_PORT") or 8009)


def seed_demo_subscription(engine: Engine, port: int | None = None) -> bool:
    """Create the demo subscription once; its secret goes to the data directory's secrets (the
    receiver reads it from there to verify). Returns True when it was created now."""
    url = f"http://127.0.0.1:{port or receiver_port()}/webhook"
    settings = IntegrationSettings()
    with session_scope(engine) as db:
        if feed_repository.subscription_by_name(db, DEMO_NAME) is not None:
            return False
        admin = repository.first_admin(db)
        if admin is None:
            return False
        _sub, secret = subs.create(
            db,
            SecretBox(settings.key),
            subs.SubscriptionInput(url=url, types=["sortline.*"], name=DEMO_NAME, internal=True),
            user_principal(admin),
        )
        path = Path(demo_secret_path())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secret)
        path.chmod(0o600)
    return True
