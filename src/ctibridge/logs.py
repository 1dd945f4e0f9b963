"""structlog set-up: readable in a terminal, JSON with --log-json."""

from __future__ import annotations

import logging
import sys

import structlog

from .redact import install_log_guards, structlog_processor


def configure(*, json_format: bool = False, level: str = "info") -> None:
    lvl = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=lvl, force=True)
    for noisy in ("uvicorn.access", "aiosqlite", "sqlalchemy.engine", "alembic"):
        logging.getLogger(noisy).setLevel(max(lvl, logging.WARNING))
    # httpx's INFO lines print request URLs (API keys, callers' numbers); uvicorn's print
    # /ws?ticket=…: quieted and redacted (docs/security.md#secrets).
    install_log_guards()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json_format
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        cache_logger_on_first_use=False,
    )
