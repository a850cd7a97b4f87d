"""The channel senders against real local receivers: SMTP (aiosmtpd) and an HTTP SMS
gateway; what is worth retrying is told from what is not."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from pydantic import SecretStr

from connectors.delivery.senders import (
    ChannelRefused,
    HttpSmsSender,
    PermanentSendError,
    SmtpSender,
    TransientSendError,
    UncertainSendError,
    configured_senders,
)
from connectors.samples.delivery_servers import LocalSmsGateway, LocalSmtpServer
from runtime.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_smtp_delivers_with_the_delivery_id_in_the_headers() -> None:
    port = _free_port()
    with LocalSmtpServer(port) as server:
        sender = SmtpSender(Settings(smtp_host="127.0.0.1", smtp_port=port))
        result = sender.send("d-1", "ana@example.com", "Service due", "Hi Ana")
        [msg] = server.messages
    assert msg["To"] == "ana@example.com" and msg["X-Auterity-Delivery-Id"] == "d-1"
    assert msg.get_content().strip() == "Hi Ana" and result.message_id == msg["Message-ID"]
    assert not sender.idempotent


def test_an_unreachable_smtp_server_is_transient() -> None:
    sender = SmtpSender(Settings(smtp_host="127.0.0.1", smtp_port=_free_port(),
                                 delivery_timeout_s=2))
    with pytest.raises(TransientSendError, match="unreachable"):
        sender.send("d-1", "ana@example.com", "s", "b")


def test_the_sms_gateway_gets_the_idempotency_key_and_token() -> None:
    port = _free_port()
    with LocalSmsGateway(port) as gw:
        sender = HttpSmsSender(Settings(sms_gateway_url=gw.url,
                                        sms_gateway_token=SecretStr("tok")))
        first = sender.send("d-2", "+15550100", "", "Reminder")
        again = sender.send("d-2", "+15550100", "", "Reminder")
        assert first == again and first.message_id == "sms-d-2"
        assert len(gw.requests) == 2 and list(gw.delivered) == ["d-2"]
        assert gw.delivered["d-2"].authorization == "Bearer tok"
        gw.fail_next(1)
        with pytest.raises(TransientSendError, match="503"):
            sender.send("d-3", "+15550100", "", "Reminder")
    with pytest.raises(TransientSendError, match="unreachable"):
        sender.send("d-4", "+15550100", "", "Reminder")


def test_a_refusal_is_permanent() -> None:
    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.send_response(422)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.handle_request, daemon=True).start()
    sender = HttpSmsSender(Settings(sms_gateway_url=f"http://127.0.0.1:{server.server_port}/"))
    with pytest.raises(PermanentSendError, match="422"):
        sender.send("d-5", "+15550100", "", "x")
    server.server_close()


def test_only_configured_channels_have_senders() -> None:
    assert configured_senders(Settings(smtp_host=None, sms_gateway_url=None)) == {}
    assert set(configured_senders(Settings(smtp_host="h", sms_gateway_url="http://g/"))) == {
        "email", "sms"}


def test_an_smtp_answer_lost_after_the_message_went_out_is_uncertain_not_transient() -> None:
    port = _free_port()
    with LocalSmtpServer(port) as server:
        sender = SmtpSender(Settings(smtp_host="127.0.0.1", smtp_port=port,
                                     delivery_timeout_s=0.5))
        server.stall_next(1, 3.0)
        with pytest.raises(UncertainSendError, match="may have arrived"):
            sender.send("d-6", "ana@example.com", "s", "b")
        assert len(server.by_delivery_id("d-6")) == 1  # it did arrive: a retry would be twice


def test_smtp_refusals_are_told_apart_and_never_quote_the_address() -> None:
    port = _free_port()
    with LocalSmtpServer(port) as server:
        sender = SmtpSender(Settings(smtp_host="127.0.0.1", smtp_port=port))
        with pytest.raises(PermanentSendError, match="cannot be built"):
            sender.send("d-7", "ana@example.com", "Hi\r\nBcc: x@evil.test", "b")
        server.refuse_recipients()
        with pytest.raises(PermanentSendError, match="SMTP 550") as refused:
            sender.send("d-8", "ana@example.com", "s", "b")
        assert "ana@" not in str(refused.value) and "example.com" not in str(refused.value)
        server.refuse_recipients(False)
        server.refuse_senders()
        with pytest.raises(ChannelRefused, match="553 5.7.1"):
            sender.send("d-9", "ana@example.com", "s", "b")
        assert server.messages == []


def test_a_gateway_refusing_our_token_refuses_the_channel_not_the_message() -> None:
    port = _free_port()
    with LocalSmsGateway(port) as gw:
        sender = HttpSmsSender(Settings(sms_gateway_url=gw.url))
        gw.fail_next(1, status=401)
        with pytest.raises(ChannelRefused, match="401"):
            sender.send("d-10", "+15550100", "", "x")
        assert sender.send("d-10", "+15550100", "", "x").message_id == "sms-d-10"


@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_gateway_redirect_is_not_a_sent_message(status: int) -> None:
    # found by review: httpx does not follow redirects, and a 3xx was recorded as sent
    port = _free_port()
    with LocalSmsGateway(port) as gw:
        sender = HttpSmsSender(Settings(sms_gateway_url=gw.url))
        gw.fail_next(1, status=status)
        with pytest.raises(ChannelRefused, match=f"{status} \\(not 2xx\\)"):
            sender.send("d-11", "+15550100", "", "x")
