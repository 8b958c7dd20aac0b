"""Structured (JSON lines) logging for the agent: one object per event, easy to ship and grep.

Call sites pass context as ``extra={"fields": {...}}``; values are public facts (interface
names, public keys, counts). Secrets never reach a log call in the first place.
"""

from __future__ import annotations

import json
import logging
import sys
import time


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record as a JSON object."""
        data: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                data.setdefault(key, value)
        if record.exc_info and record.exc_info[0] is not None:
            data["exception"] = record.exc_info[0].__name__
        return json.dumps(data, default=str, ensure_ascii=False)


def setup_logging(level: str = "INFO", stream: object = None) -> None:
    """Send JSON lines to stderr (journald keeps them) at ``level``."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # urllib3 would log full URLs at DEBUG; keep it quiet either way.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
