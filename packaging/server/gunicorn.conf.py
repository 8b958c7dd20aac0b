"""gunicorn settings for ``nexavpn-server serve --gunicorn-config THIS`` (the packaged unit and
the container pass it; NEXAVPN_GUNICORN_CONFIG does the same).

Why these values:
* gevent workers: a waiting long-poll (agent config, client profile) is a greenlet and a socket,
  not a thread, so one worker holds tens of thousands (NEXAVPN_LONGPOLL_CAPACITY, default
  10000, beyond it 503 + Retry-After); ``worker_connections`` leaves room above that for
  heartbeats, logins and admin calls. argon2 runs in gevent's threadpool. A handful of
  processes (default 2 x CPUs + 1, at most 8) share the CPU-bound work.
  NEXAVPN_WORKER_CLASS=gthread falls back to threads (NEXAVPN_THREADS each).
* ``timeout`` is gunicorn's worker-liveness limit, not a request limit (workers check in from
  their main loop), so long-polls never trip it; 120 s catches a truly stuck worker.
* ``graceful_timeout``: on stop/restart, requests in flight get 30 s to finish; an agent whose
  long-poll is cut simply polls again.
* bind, TLS and the access log stay with the command line (``--host/--port/--tls-*``), except
  that NEXAVPN_METRICS_BIND adds a listener (then the main one comes from NEXAVPN_HOST/PORT).
* Prometheus multiprocess mode (PROMETHEUS_MULTIPROC_DIR): the directory is emptied when the
  master starts and a dead worker's live gauges are dropped (nexavpn_api.metrics).
"""

from __future__ import annotations

import glob
import os

from nexavpn_api.server_hooks import post_worker_init  # noqa: F401  (gunicorn reads it by name)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


worker_class = os.environ.get("NEXAVPN_WORKER_CLASS", "gevent")
workers = _env_int("NEXAVPN_WORKERS", min(2 * _cpus() + 1, 8))
threads = _env_int("NEXAVPN_THREADS", 32)
worker_connections = _env_int(
    "NEXAVPN_WORKER_CONNECTIONS", _env_int("NEXAVPN_LONGPOLL_CAPACITY", 10000) + 2000
)
timeout = _env_int("NEXAVPN_WORKER_TIMEOUT", 120)
graceful_timeout = _env_int("NEXAVPN_GRACEFUL_TIMEOUT", 30)
keepalive = 5  # behind nginx's upstream keepalive pool
# Recycle workers now and then (with jitter so they do not all restart at once).
max_requests = _env_int("NEXAVPN_MAX_REQUESTS", 20000)
max_requests_jitter = max_requests // 10
worker_tmp_dir = os.environ.get("NEXAVPN_WORKER_TMP_DIR") or None
# NEXAVPN_METRICS_BIND=10.0.0.5:9108 adds a second listener (e.g. on an internal interface) for a
# Prometheus on another host; /metrics still answers only to NEXAVPN_METRICS_ALLOW there.
_metrics_bind = os.environ.get("NEXAVPN_METRICS_BIND", "").strip()
if _metrics_bind:
    _host = os.environ.get("NEXAVPN_HOST", "127.0.0.1")
    _port = os.environ.get("NEXAVPN_PORT", "8000")
    bind = [f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}", _metrics_bind]
# No gunicornc control socket: its default path is shared by every instance of the account.
control_socket_disable = True
errorlog = "-"
loglevel = os.environ.get("NEXAVPN_LOG_LEVEL", "info").lower()


def on_starting(server) -> None:
    """Raise the open-files limit (one socket per waiting long-poll); empty the Prometheus
    multiprocess directory (stale files would add old counts)."""
    from nexavpn_api.cli import raise_open_files_limit

    raise_open_files_limit()
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    for path in glob.glob(os.path.join(directory, "*.db")):
        os.unlink(path)


def child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges (long-poll waiters) from the sums."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
