"""Delivering an access export to the requester: left in the operator's folder, or mailed over SMTP.

The spec chooses. ``folder``: the export already sits in the delivery folder (0700); handing it over is the
operator's job, and the notification email tells the person it is coming. ``smtp``: the files go as
attachments to the contact's own address of record, and nowhere else, through the server the spec names, with
credentials read from the environment variables it names.

An SMTP send whose outcome is unknown (killed mid-send) is sent again on the next run: a second copy of your
own data to your own address is a far smaller harm than an answer never given."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from pathlib import Path

from gdpr_as_code.errors import GdprAsCodeError
from gdpr_as_code.spec.gdpr_model import ExportDelivery

MEDIA_TYPES = {".json": ("application", "json"), ".csv": ("text", "csv")}


def build_message(delivery: ExportDelivery, to: str, request_id: str, folder: Path) -> EmailMessage:
    """The email carrying the export files of ``request_id`` to ``to``."""
    message = EmailMessage()
    message["From"] = delivery.smtp_from or ""
    message["To"] = to
    message["Subject"] = "A copy of your personal data"
    message.set_content(
        "As you asked, attached is a copy of the personal data we hold about you (data.json is "
        f"machine-readable, the CSV files open in a spreadsheet).\n\nReference: {request_id}\n"
    )
    for path in sorted(folder.iterdir()):
        maintype, subtype = MEDIA_TYPES.get(path.suffix, ("application", "octet-stream"))
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return message


def send_smtp(
    delivery: ExportDelivery, to: str, request_id: str, folder: Path, env: Mapping[str, str]
) -> None:
    """Mail the export to ``to`` (the contact's address of record) through the spec's SMTP server."""
    if not to:
        raise GdprAsCodeError(
            f"Request {request_id}: the contact has no email address in Mautic, so the export cannot be "
            "mailed. Hand over the export folder another way, or add the address in Mautic and rerun."
        )
    where = f"{delivery.smtp_host}:{delivery.smtp_port}"
    username = env.get(delivery.smtp_username_env, "")
    password = env.get(delivery.smtp_password_env, "")
    if username and not password:
        raise GdprAsCodeError(
            f"{delivery.smtp_username_env} is set but {delivery.smtp_password_env} is empty: set the SMTP "
            f"password for {where} in that environment variable (the spec names it under gdpr.delivery)."
        )
    message = build_message(delivery, to, request_id, folder)
    try:
        with smtplib.SMTP(delivery.smtp_host or "", delivery.smtp_port, timeout=60) as smtp:
            if delivery.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if username:
                smtp.login(username, password)
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise GdprAsCodeError(
            f"The SMTP server {where} refused the login for request {request_id}: check "
            f"{delivery.smtp_username_env} and {delivery.smtp_password_env}, then rerun."
        ) from None
    except (OSError, smtplib.SMTPException) as err:
        raise GdprAsCodeError(
            f"Mailing the export of request {request_id} through {where} failed ({type(err).__name__}). "
            "Check gdpr.delivery in the spec and that the server is reachable, then rerun: the request "
            "resumes at the delivery."
        ) from None
