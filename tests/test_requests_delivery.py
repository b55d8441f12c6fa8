"""Export delivery over SMTP, to a minimal SMTP server on 127.0.0.1 (real protocol, smtplib unmocked), on its
own and in the request flow on the sandbox."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_requests_e2e import Site, site  # noqa: F401 - the fixture: a sandbox with configs/gdpr.yaml applied

from gdpr_as_code.dsr import delivery, export
from gdpr_as_code.errors import GdprAsCodeError
from gdpr_as_code.spec.gdpr_model import ExportDelivery


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to accept one message: EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self) -> None:
        server: _SmtpServer = self.server  # type: ignore[assignment]
        self.reply("220 localhost test SMTP")
        envelope: dict[str, object] = {"rcpt": []}
        while line := self.rfile.readline().decode().rstrip("\r\n"):
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 localhost")
            elif verb == "MAIL":
                envelope["from"] = line.split(":", 1)[1].strip(" <>")
                self.reply("250 OK")
            elif verb == "RCPT":
                envelope["rcpt"].append(line.split(":", 1)[1].strip(" <>"))  # type: ignore[union-attr]
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = []
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                envelope["message"] = email.message_from_bytes(b"".join(data), policy=email.policy.default)
                server.received.append(envelope)
                envelope = {"rcpt": []}
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")

    def reply(self, text: str) -> None:
        self.wfile.write(f"{text}\r\n".encode())


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    received: list[dict[str, object]]


@pytest.fixture
def smtp_server() -> Iterator[_SmtpServer]:
    server = _SmtpServer(("127.0.0.1", 0), _Smtp)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _export(tmp_path: Path) -> Path:
    files = export.render(
        {
            "fields": {"email": "jane@example.com", "firstname": "Jane"},
            **{section: [] for section in export.SECTIONS},
            "contact": {"id": 7},
        },
        ("json", "csv"),
    )
    return export.write(tmp_path, "access-7-20260101T000000Z", files)


def test_the_export_is_mailed_to_the_address_of_record_only(tmp_path: Path, smtp_server: _SmtpServer) -> None:
    method = ExportDelivery(
        method="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.server_address[1],
        smtp_starttls=False,
        smtp_from="privacy@example.com",
    )
    folder = _export(tmp_path)
    delivery.send_smtp(method, "jane@example.com", "access-7-20260101T000000Z", folder, env={})
    (sent,) = smtp_server.received
    assert sent["rcpt"] == ["jane@example.com"]
    assert sent["from"] == "privacy@example.com"
    message = sent["message"]
    attachments = {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}
    assert sorted(attachments) == ["contact.csv", "data.csv", "data.json"]
    assert attachments["data.json"] == (folder / "data.json").read_bytes()
    assert "access-7-20260101T000000Z" in message.get_body(("plain",)).get_content()


def test_a_failed_delivery_names_the_server_and_the_fix_but_not_the_address(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    method = ExportDelivery(method="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
    with pytest.raises(GdprAsCodeError) as caught:
        delivery.send_smtp(method, "jane@example.com", "access-7-x", _export(tmp_path), env={})
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "gdpr.delivery" in message and "access-7-x" in message
    assert "jane" not in message


def test_a_username_without_its_password_is_refused_before_connecting(tmp_path: Path) -> None:
    method = ExportDelivery(method="smtp", smtp_host="127.0.0.1", smtp_port=1)
    with pytest.raises(GdprAsCodeError, match="SMTP_USERNAME is set but SMTP_PASSWORD is empty"):
        delivery.send_smtp(method, "jane@example.com", "r", _export(tmp_path), env={"SMTP_USERNAME": "u"})


def test_an_access_export_goes_by_smtp_when_the_spec_says_so(
    site: Site,  # noqa: F811 - the fixture imported above
    smtp_server: _SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder_delivery = "    delivery:\n      method: folder\n      folder: exports\n"
    assert folder_delivery in site.spec.read_text()
    smtp_delivery = (
        "    delivery:\n      method: smtp\n      folder: exports\n      smtp:\n        host: 127.0.0.1\n"
        f"        port: {smtp_server.server_address[1]}\n        starttls: false\n"
        "        from: privacy@example.com\n"
    )
    site.spec.write_text(site.spec.read_text().replace(folder_delivery, smtp_delivery))
    alice = site.submit("Alice", "alice@example.com", "access")
    site.submit("Bob", "bob@example.com", "access")
    site.rebuild()
    assert site.cli("requests", "fulfil", "--type", "access") == 0
    assert "2 done" in capsys.readouterr().out
    by_address = {sent["rcpt"][0]: sent["message"] for sent in smtp_server.received}  # type: ignore[index]
    assert sorted(by_address) == ["alice@example.com", "bob@example.com"]
    (folder,) = (site.spec.parent / "exports").glob(f"*/access-{alice}-*")
    attached = {
        p.get_filename(): p.get_payload(decode=True)
        for p in by_address["alice@example.com"].iter_attachments()
    }
    assert attached["data.json"] == (folder / "data.json").read_bytes()
    steps = [json.loads(line) for line in (site.state / "audit.jsonl").read_text().splitlines()]
    assert any(s["step"] == "deliver" and s["outcome"] == "done" and s["contact"] == alice for s in steps)
