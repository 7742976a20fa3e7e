"""E-mail for a local run: every message to a file under var/mail/, one line about it on the log.

The console backend prints each message in full, so a demo seed or a review session buries the
server's own output under pages of headers. Here the full text (headers and body, as sent) goes
to a file the developer can open, and the log gets one line naming the recipient, the subject and
the file. Production sets EMAIL_BACKEND to a real one (SMTP or a provider's).
"""

from __future__ import annotations

import logging
from email.header import decode_header, make_header

from django.core.mail.backends.filebased import EmailBackend as FileBasedBackend
from django.core.mail.message import EmailMessage

logger = logging.getLogger("portal.mail")


class FileEmailBackend(FileBasedBackend):
    def write_message(self, message: EmailMessage) -> None:
        super().write_message(message)
        # The subject as the recipient reads it (the MIME header encodes non-ASCII words).
        subject = str(make_header(decode_header(message.message()["Subject"] or "")))
        # Django's file backend names one file per connection and keeps the name in `_fname`
        # (not in its type stubs); it is set by now, since the stream it opened is that file.
        path = getattr(self, "_fname", "")
        logger.info("mail to %s: %s (%s)", ", ".join(message.recipients()), subject, path)
