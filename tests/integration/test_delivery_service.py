"""The delivery service against the real Postgres ledger and real local receivers: what
is sent again, what is never sent again, and what waits for an operator — the cases a crash
test cannot aim at (an answer lost after the message went out, a revoked token, a server
down through every retry, Postgres dropping the connection)."""

from __future__ import annotations

import socket
import uuid

import psycopg
import pytest
from psycopg.types.json import Jsonb

from connectors.delivery.ledger import DeliveryLedger
from connectors.delivery.senders import HttpSmsSender, SmtpSender
from connectors.delivery.service import RETRIES, DeliveryRejected, deliver
from connectors.samples.delivery_servers import LocalSmsGateway, LocalSmtpServer
from projections.postgres_schema import migrate
from runtime.postgres import StoreUnavailable, connect
from runtime.settings import Settings
from schemas.events import DeliveryRequested, utcnow
from streams.delivery_steps import open_ledger


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _contact(pg: psycopg.Connection, tenant: str, customer: str, **fields: str) -> None:
    pg.execute("INSERT INTO restricted_pii_fields (tenant_id, subject_kind, subject_id, fields, "
               "event_id, source_event_id, created_at, source_topic, source_partition, "
               "source_offset) VALUES (%s, 'customer', %s, %s, %s, %s, now(), 'test', 0, 0)",
               (tenant, customer, Jsonb(fields), str(uuid.uuid4()), str(uuid.uuid4())))


def _request(tenant: str, channel: str, customer: str = "c-1",
             subject: str = "Hi {{customer.first_name}}") -> DeliveryRequested:
    return DeliveryRequested(
        event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
        delivery_id=f"dl-{uuid.uuid4().hex[:12]}", task_id=f"t-{uuid.uuid4().hex[:8]}",
        channel=channel, customer_ref=customer, subject=subject if channel == "email" else "",
        body="Your car is due, {{customer.first_name}}.")


def _rows(pg: psycopg.Connection, req: DeliveryRequested) -> list[tuple]:
    return pg.execute("SELECT status, attempts FROM agent_deliveries WHERE tenant_id = %s AND "
                      "delivery_id = %s", (req.tenant_id, req.delivery_id)).fetchall()


def _no_wait(_: float) -> None:
    return None


@pytest.fixture
def tenant(pg: psycopg.Connection) -> str:
    migrate(pg)
    name = f"dealer-s{uuid.uuid4().hex[:6]}"
    _contact(pg, name, "c-1", first_name="Ana", email="ana@example.com", phone="+15550100")
    return name


def test_an_email_whose_answer_was_lost_is_unknown_and_never_sent_again(
        settings: Settings, pg: psycopg.Connection, tenant: str) -> None:
    port = _free_port()
    ledger = open_ledger(settings)
    with LocalSmtpServer(port) as smtp:
        senders = {"email": SmtpSender(Settings(smtp_host="127.0.0.1", smtp_port=port,
                                                delivery_timeout_s=0.5))}
        smtp.stall_next(1, 3.0)
        req = _request(tenant, "email")
        done = deliver(req, ledger, senders, sleep=_no_wait)
        assert done.status == "unknown" and "may have arrived" in (done.error or "")
        assert _rows(pg, req) == [("unknown", 1)]
        again = deliver(req, ledger, senders, sleep=_no_wait)
        assert (again.status, again.event_id) == ("unknown", done.event_id)
        assert len(smtp.by_delivery_id(req.delivery_id)) == 1  # arrived once, not retried
    ledger.close()


def test_a_refused_or_unreachable_channel_is_released_so_a_replay_sends(
        settings: Settings, pg: psycopg.Connection, tenant: str) -> None:
    ledger = open_ledger(settings)
    with LocalSmsGateway(_free_port()) as gw:
        senders = {"sms": HttpSmsSender(Settings(sms_gateway_url=gw.url))}
        req = _request(tenant, "sms")
        gw.fail_next(1, status=401)  # a revoked token: every message would be refused
        with pytest.raises(DeliveryRejected) as refused:
            deliver(req, ledger, senders, sleep=_no_wait)
        assert refused.value.kind == "channel_refused" and _rows(pg, req) == []
        sent = deliver(req, ledger, senders, sleep=_no_wait)  # the operator fixed the token
        assert sent.status == "sent" and sent.event_id != refused.value.completed.event_id
        assert list(gw.delivered) == [req.delivery_id]

    port = _free_port()  # an SMTP server down through every retry
    senders_down = {"email": SmtpSender(Settings(smtp_host="127.0.0.1", smtp_port=port,
                                                 delivery_timeout_s=1))}
    mail = _request(tenant, "email")
    with pytest.raises(DeliveryRejected) as down:
        deliver(mail, ledger, senders_down, sleep=_no_wait)
    assert down.value.kind == "channel_unavailable"
    assert f"after {RETRIES + 1} attempts" in str(down.value) and _rows(pg, mail) == []
    with LocalSmtpServer(port) as smtp:  # back up: the replayed dead letter sends, once
        assert deliver(mail, ledger, senders_down, sleep=_no_wait).status == "sent"
        assert len(smtp.by_delivery_id(mail.delivery_id)) == 1
    ledger.close()


def test_a_line_break_in_a_contact_value_fails_the_delivery_not_the_step(
        settings: Settings, pg: psycopg.Connection, tenant: str) -> None:
    _contact(pg, tenant, "c-2", first_name="Ana\r\nBcc: all@evil.test", email="a@example.com")
    port = _free_port()
    ledger = open_ledger(settings)
    with LocalSmtpServer(port) as smtp:
        req = _request(tenant, "email", customer="c-2")
        done = deliver(req, ledger, {"email": SmtpSender(Settings(
            smtp_host="127.0.0.1", smtp_port=port))}, sleep=_no_wait)
        assert done.status == "failed" and "cannot be built" in (done.error or "")
        assert _rows(pg, req) == [("failed", 1)] and smtp.messages == []
        assert "evil" not in (done.error or "")
    ledger.close()


def test_postgres_dropping_the_ledger_connection_claims_nothing_and_the_next_call_reconnects(
        settings: Settings, pg: psycopg.Connection, tenant: str) -> None:
    ledger = open_ledger(settings)
    with LocalSmsGateway(_free_port()) as gw:
        senders = {"sms": HttpSmsSender(Settings(sms_gateway_url=gw.url))}
        assert ledger.contact(tenant, "c-1") is not None  # connected
        killed = pg.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE application_name = 'auterity-deliveries' AND pid <> "
                            "pg_backend_pid() AND backend_start > now() - interval '1 minute'"
                            ).fetchone()
        assert killed is not None and killed[0] >= 1
        req = _request(tenant, "sms")
        with pytest.raises(StoreUnavailable, match="delivery ledger"):
            deliver(req, ledger, senders, sleep=_no_wait)
        assert _rows(pg, req) == [] and gw.requests == []
        assert deliver(req, ledger, senders, sleep=_no_wait).status == "sent"
    ledger.close()


def test_a_message_holding_a_masked_value_is_not_sent(
        settings: Settings, pg: psycopg.Connection, tenant: str) -> None:
    port = _free_port()
    ledger = open_ledger(settings)
    with LocalSmtpServer(port) as smtp:
        req = _request(tenant, "email", subject="Call us at <PHONE_NUMBER>")
        done = deliver(req, ledger, {"email": SmtpSender(Settings(
            smtp_host="127.0.0.1", smtp_port=port))}, sleep=_no_wait)
        assert done.status == "failed" and "<PHONE_NUMBER>" in (done.error or "")
        assert smtp.messages == [] and _rows(pg, req) == [("failed", 1)]
    ledger.close()


def _crm_field(pg: psycopg.Connection, tenant: str, customer: str, fields: dict) -> None:
    pg.execute("INSERT INTO crm_customer_updates (tenant_id, task_id, customer_ref, fields, "
               "event_id, created_at, source_topic, source_partition, source_offset) VALUES "
               "(%s, %s, %s, %s, %s, now(), 'test', 0, 0)",
               (tenant, f"t-{uuid.uuid4().hex[:8]}", customer, Jsonb(fields),
                str(uuid.uuid4())))


def test_a_customer_the_crm_marks_do_not_contact_gets_nothing(
        settings: Settings, pg: psycopg.Connection, tenant: str) -> None:
    # found by review: update_crm documented do_not_contact as "stop every outreach" and
    # nothing read it
    ledger = open_ledger(settings)
    with LocalSmsGateway(_free_port()) as gw:
        senders = {"sms": HttpSmsSender(Settings(sms_gateway_url=gw.url))}
        _crm_field(pg, tenant, "c-1", {"do_not_contact": False})
        assert deliver(_request(tenant, "sms"), ledger, senders,
                       sleep=_no_wait).status == "sent"
        _crm_field(pg, tenant, "c-1", {"do_not_contact": True, "notes": "asked twice"})
        req = _request(tenant, "sms")
        done = deliver(req, ledger, senders, sleep=_no_wait)
        assert done.status == "failed" and "do_not_contact" in (done.error or "")
        assert req.delivery_id not in gw.delivered and _rows(pg, req) == [("failed", 1)]
    ledger.close()


def test_a_rejected_claim_is_released_even_when_postgres_blinks(
        settings: Settings, pg: psycopg.Connection, tenant: str) -> None:
    # found by review: a failed release left the claim `sending`, and the replay recorded
    # an email that never left as `unknown`
    class BlinkingLedger(DeliveryLedger):
        failures = 2

        def release(self, req: DeliveryRequested) -> None:
            if self.failures:
                self.failures -= 1
                raise StoreUnavailable("delivery ledger: Postgres unavailable (test)")
            super().release(req)

    ledger = BlinkingLedger(lambda: connect(settings.resolved_database_url(),
                                            "auterity-test-ledger"))
    waited: list[float] = []
    port = _free_port()  # nothing listens: every retry fails
    senders = {"email": SmtpSender(Settings(smtp_host="127.0.0.1", smtp_port=port,
                                            delivery_timeout_s=1))}
    mail = _request(tenant, "email")
    with pytest.raises(DeliveryRejected) as down:
        deliver(mail, ledger, senders, sleep=waited.append)
    assert down.value.kind == "channel_unavailable" and ledger.failures == 0
    # the sends' backoff, then the release's
    assert _rows(pg, mail) == [] and waited == [0.5, 1.0, 2.0, 0.5, 1.0]
    with LocalSmtpServer(port) as smtp:
        assert deliver(mail, ledger, senders, sleep=_no_wait).status == "sent"
        assert len(smtp.by_delivery_id(mail.delivery_id)) == 1
    ledger.close()
