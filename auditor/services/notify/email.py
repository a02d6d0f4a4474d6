"""Email through an SMTP relay: stdlib `smtplib` and `email.message.EmailMessage`.

Security modes (docs/notify.md): `starttls` (port 587: Microsoft 365 `smtp.office365.com`, Google
Workspace `smtp.gmail.com` / `smtp-relay.gmail.com`) upgrades the connection before AUTH and verifies
the server's certificate against the system store; `tls` (port 465) is TLS from the first byte;
`none` sends in clear and is meant for a relay on the same host or network. AUTH is used when a user
name is set. Every smtplib/socket/TLS error becomes a `NotifyError` naming the relay and the kind of
failure, never the password (smtplib's own messages can echo what the server said about the
credentials, so they are not copied verbatim).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from auditor.model.types import Secret
from auditor.services.notify.config import EmailSettings, Security
from auditor.services.notify.errors import NotifyError

TIMEOUT = 30.0


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str


def compose(
    settings: EmailSettings, subject: str, body: str, attachments: Sequence[Attachment] = ()
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.recipients)
    msg["Date"] = formatdate(localtime=False)
    domain = settings.sender.rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to a robot
    msg.set_content(body)
    for a in attachments:
        msg.add_attachment(a.content, maintype=a.maintype, subtype=a.subtype, filename=a.filename)
    return msg


def send(
    settings: EmailSettings,
    message: EmailMessage,
    password: Secret | None,
    *,
    timeout: float = TIMEOUT,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Deliver `message` to every recipient; raise NotifyError (without the password) on failure."""
    where = f"SMTP relay {settings.host}:{settings.port}"
    if settings.username and password is None:
        raise NotifyError(
            f"{where}: a user name is set but no SMTP password is stored",
            "Store it with `auditor notify email password --stdin` (as an administrator).",
        )
    try:
        context = ssl_context or ssl.create_default_context(cafile=settings.ca_file or None)
    except (OSError, ssl.SSLError):
        raise NotifyError(
            f"{where}: the CA file {settings.ca_file} cannot be read",
            "Give a PEM bundle with `auditor notify email set --ca-file FILE`.",
        ) from None
    client: smtplib.SMTP | None = None
    step = "connect"
    try:
        if settings.security is Security.TLS:
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        step = "greet"
        client.ehlo()
        if settings.security is Security.STARTTLS:
            step = "starttls"
            if not client.has_extn("starttls"):
                raise NotifyError(
                    f"{where} does not offer STARTTLS",
                    "Check the port (587 for STARTTLS, 465 for --security tls).",
                )
            client.starttls(context=context)
            client.ehlo()
        if settings.username:
            step = "login"
            assert password is not None
            _login(client, settings.username, password)
        step = "send"
        refused = client.send_message(message, from_addr=settings.sender, to_addrs=list(settings.recipients))
        if refused:
            raise NotifyError(f"{where} refused recipient(s): {', '.join(sorted(refused))}")
    except NotifyError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise NotifyError(
            f"{where} rejected the login for {settings.username!r} (SMTP {exc.smtp_code})",
            "Check the user name and store the password again with `auditor notify email password`.",
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise NotifyError(f"{where} refused every recipient: {', '.join(sorted(exc.recipients))}") from None
    except smtplib.SMTPResponseException as exc:
        raise NotifyError(f"{where} answered SMTP {exc.smtp_code} during {step}") from None
    except smtplib.SMTPNotSupportedError:
        raise NotifyError(
            f"{where} does not support {'AUTH' if step == 'login' else step}",
            "Use --security starttls (or tls) so the relay offers AUTH, or clear --username.",
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise NotifyError(
            f"{where}: the server's TLS certificate was not trusted ({exc.verify_message})",
            "The relay must present a certificate for this host name signed by a trusted authority.",
        ) from None
    except ssl.SSLError as exc:
        raise NotifyError(f"{where}: TLS failed during {step} ({exc.reason or type(exc).__name__})") from None
    except TimeoutError:
        raise NotifyError(f"{where} did not answer within {timeout:g} s during {step}") from None
    except ConnectionRefusedError:
        raise NotifyError(
            f"{where} refused the connection", "Is the relay running, and is the port right?"
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(f"{where}: {step} failed ({type(exc).__name__})") from None
    finally:
        if client is not None:
            with contextlib.suppress(Exception):  # the message is sent or the error already raised
                client.quit()


def _login(client: smtplib.SMTP, username: str, password: Secret) -> None:
    """AUTH with one mechanism, PLAIN or LOGIN (what Microsoft 365 and Google Workspace offer).

    `smtplib.login` tries every advertised mechanism in turn, and a server that hangs up after the
    first rejection then surfaces as "disconnected" instead of "535 wrong credentials".
    """
    offered = client.esmtp_features.get("auth", "").upper().split()
    client.user, client.password = username, password.reveal_str()
    for mechanism in ("PLAIN", "LOGIN"):
        if mechanism in offered:
            client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
            return
    client.login(username, password.reveal_str())
