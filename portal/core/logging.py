"""Log filters that keep the console about what went wrong, once.

A 403 or 404 is an ordinary answer (a signed-out visitor, a mistyped link), yet Django logs a
PermissionDenied with its traceback; a line saying what was refused is all an operator needs.
Server errors (5xx) keep their traceback.
"""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True


class TwoWorkersOneBroker(logging.Filter):
    """Drop dramatiq's warning about a second worker on the same broker.

    Each dramatiq Worker adds its own consumer middleware to the broker. A worker process here
    runs two on purpose (portal.jobs.middleware.RenderPoolMiddleware gives renders their own
    threads), so dramatiq's "same type twice" warning is expected for that middleware and only
    that one; any other duplicate still gets through.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            message.startswith("You're adding a middleware of the same type twice")
            and "_WorkerMiddleware" in message
        )
