"""Sending a message: through SMTP when ``SMTP_URL`` is set, else into the outbox.

``SMTP_URL`` is ``smtp://[user:password@]host[:port]`` (``?starttls=1`` to
upgrade the connection) or ``smtps://…`` for TLS from the start. A failure is a
``MailError`` that says whether trying again could help (a 4xx answer or a lost
connection) or not (a 5xx answer: the address or the message was refused).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

from crm.models.mail import OutboxMessage

SMTP_TIMEOUT = 30


class MailError(Exception):
    """The server refused or could not be reached; ``permanent`` when retrying is pointless."""

    def __init__(self, reply: str, permanent: bool):
        super().__init__(reply)
        self.reply = reply
        self.permanent = permanent


def sender_for(tenant) -> str:
    """The association's own sender address, else the installation's."""
    address = getattr(tenant, "mail_from", None) or current_app.config["MAIL_FROM"]
    name = getattr(tenant, "name", None)
    return formataddr((name, address)) if name and not parseaddr(address)[0] else address


def compose(
    sender: str, recipient: str, subject: str, body: str, headers: dict | None = None
) -> EmailMessage:
    """A plain-text message with the headers every message carries."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


class Postman:
    """Delivers messages over one SMTP connection (or into the outbox), opened on
    first use and closed on exit; a mailing keeps one for its whole batch."""

    def __init__(self, session, url: str | None = None):
        self.session = session
        self.url = url if url is not None else current_app.config.get("SMTP_URL")
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Postman:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, tenant_id: int, message: EmailMessage) -> None:
        if not self.url:
            self._to_outbox(tenant_id, message)
            return
        try:
            self._connection().send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()))
            raise MailError(_reply(code, reply), permanent=code >= 500) from error
        except smtplib.SMTPResponseException as error:
            self.close()
            raise MailError(
                _reply(error.smtp_code, error.smtp_error), permanent=error.smtp_code >= 500
            ) from error
        except (smtplib.SMTPException, OSError) as error:
            self.close()  # a lost connection: the next message opens a new one
            raise MailError(f"{type(error).__name__}: {error}", permanent=False) from error

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = connect(self.url)
        return self._smtp

    def _to_outbox(self, tenant_id: int, message: EmailMessage) -> None:
        headers = {k: str(v) for k, v in message.items() if k not in ("From", "To", "Subject")}
        self.session.add(
            OutboxMessage(
                tenant_id=tenant_id,
                sender=str(message["From"]),
                recipient=str(message["To"]),
                subject=str(message["Subject"]),
                body=message.get_content(),
                headers=headers,
            )
        )
        self.session.flush()


def connect(url: str) -> smtplib.SMTP:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise MailError(f"SMTP_URL must start with smtp:// or smtps://, not {url!r}", True)
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(
            host, parts.port or 465, timeout=SMTP_TIMEOUT, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, parts.port or 25, timeout=SMTP_TIMEOUT)
        if parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes"):
            smtp.starttls(context=ssl.create_default_context())
    if parts.username:
        smtp.login(unquote(parts.username), unquote(parts.password or ""))
    return smtp


def send(session, tenant_id: int, message: EmailMessage) -> None:
    """One message, on a connection of its own (account mail, a test message)."""
    with Postman(session) as postman:
        postman.send(tenant_id, message)


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()
