"""The agent loop: long-poll the desired config, converge WireGuard and nftables, heartbeat.

Failure rules: when the control plane is unreachable or refuses us, the last applied state stays
exactly as it is (peers are never flushed because the server is down) and the agent retries with
backoff. A config that fails validation as a whole is ignored; single bad peers are skipped.

The token is checked (one config fetch) before the interface is created or its UDP port opened:
a host with a wrong or revoked token changes nothing. A refused token (401) will not heal by
itself, so the agent then retries only every few minutes and says that it needs a new token.
"""

from __future__ import annotations

import concurrent.futures
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexavpn_gateway import nft
from nexavpn_gateway.client import (
    ControlPlaneClient,
    ControlPlaneError,
    ServerUnreachable,
    Unauthorized,
)
from nexavpn_gateway.interface import WireGuardInterface, ensure_private_key
from nexavpn_gateway.reconcile import (
    DesiredState,
    InvalidConfig,
    PeerCache,
    Plan,
    parse_desired,
    peer_map,
    plan_peers,
)
from nexavpn_gateway.runner import CommandError, Runner
from nexavpn_gateway.wg import DumpParseError, InterfaceState

log = logging.getLogger(__name__)

# The cached view of the interface is re-read from ``wg show dump`` at least this often.
VERIFY_INTERVAL = 60.0
# Individual log lines for skipped peers per config (the rest are counted in one summary line).
MAX_SKIP_LOGS = 20


class StopRequested(Exception):
    """Raised out of an interruptible wait when SIGTERM/SIGINT arrives."""


@dataclass
class AgentOptions:
    """What the agent needs besides its collaborators (see config.Settings for the sources)."""

    interface: str
    listen_port: int
    state_dir: Path
    poll_wait: int = 30
    heartbeat_interval: float = 30.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    # A refused token (401) needs an operator: retry this rarely instead of hammering.
    unauthorized_backoff: float = 300.0
    wireguard_go: str = "wireguard-go"


@dataclass
class ConvergeResult:
    """What one convergence did and how long its parts took (the bench prints these)."""

    plan: Plan
    method: str  # "none" | "set"
    nft: str  # "unchanged" | "delta" | "full"
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def _fields(**kw: Any) -> dict[str, Any]:
    return {"fields": kw}


class Agent:
    """Owns one WireGuard interface and the ``inet nexavpn`` table on this host."""

    def __init__(
        self,
        options: AgentOptions,
        runner: Runner,
        client: ControlPlaneClient,
        *,
        heartbeat_client: ControlPlaneClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        read_token: Callable[[], str] | None = None,
    ) -> None:
        self.options = options
        self.runner = runner
        self.client = client
        self.heartbeat_client = heartbeat_client or client
        self.clock = clock
        # Re-reads the token file: a refused agent picks up a new token without a restart.
        self.read_token = read_token
        self.iface = WireGuardInterface(
            runner, options.interface, wireguard_go=options.wireguard_go)
        self.public_key: str | None = None
        self.key_file: Path | None = None
        self.revision: int | None = None
        self.desired: DesiredState | None = None
        self._nft_applied: nft.Ruleset | None = None
        self._addresses_applied: list[str] | None = None
        self._forwarding_on: bool | None = None
        # What the interface holds (key -> allowed IPs) as of the last dump plus our own changes
        # since; None forces a fresh ``wg show dump``. Saves the dump (~50-100 ms at 10,000
        # peers) on every revision; it is re-read on idle polls, after errors, every minute.
        self._known: dict[str, frozenset[str]] | None = None
        self._verified_at = float("-inf")
        self._peer_cache = PeerCache()
        self._stop = threading.Event()
        self._waiting = False
        self._heartbeat_thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Key (made locally, 0600) and interface (created if missing, key + port set, up)."""
        self.key_file, self.public_key = ensure_private_key(self.options.state_dir)
        self.iface.ensure(self.key_file, self.options.listen_port)
        log.info("interface ready", extra=_fields(
            interface=self.options.interface, public_key=self.public_key,
            listen_port=self.options.listen_port))

    def request_stop(self) -> None:
        """Ask the loop to end after the current step; interrupts an idle wait."""
        self._stop.set()

    def handle_signal(self, signum: int, _frame: object) -> None:
        """Signal handler: stop; if the main thread is only waiting, break out of it now."""
        log.info("stop requested", extra=_fields(signal=signum))
        self._stop.set()
        if self._waiting:
            raise StopRequested

    @property
    def stopping(self) -> bool:
        """True once a stop was requested."""
        return self._stop.is_set()

    # ------------------------------------------------------------------ converge

    def converge(self, desired: DesiredState, *, verify: bool = False) -> ConvergeResult:
        """Make interface and nft match ``desired``; peers that did not change are untouched.

        ``verify`` also re-reads what is normally cached (addresses, our nft table's presence),
        used for the periodic drift check and after a restart.
        """
        assert self.key_file is not None, "start() first"
        try:
            return self._converge(desired, self.key_file, verify=verify)
        except CommandError:
            # Partly applied or the interface is gone: re-read everything next time.
            self._known = None
            self._addresses_applied = None
            raise

    def _converge(self, desired: DesiredState, key_file: Path, *, verify: bool) -> ConvergeResult:
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        opts = self.options
        read_interface = (verify or self._known is None
                          or self.clock() - self._verified_at > VERIFY_INTERVAL)
        if read_interface and not self.iface.exists():
            # wireguard-go died or someone deleted the link: bring it back, then re-add peers.
            log.warning("interface is missing; recreating it", extra=_fields(
                interface=opts.interface))
            self.iface.ensure(key_file, opts.listen_port)
            self._addresses_applied = None
        if desired.listen_port is not None and desired.listen_port != opts.listen_port:
            log.warning("server lists another listen port; keeping the local one",
                        extra=_fields(local=opts.listen_port, server=desired.listen_port))

        # Addresses (cached: ``ip -j address`` is only re-read on verify).
        if verify or self._addresses_applied != desired.addresses:
            if self.iface.set_addresses(desired.addresses):
                log.info("interface addresses set", extra=_fields(addresses=desired.addresses))
            self._addresses_applied = list(desired.addresses)
        timings["addresses"] = time.perf_counter() - t0

        # Peers: diff against the running interface (``wg show dump``, or its cached view).
        t = time.perf_counter()
        if read_interface:
            actual = self.iface.state()
            if actual.public_key != self.public_key or actual.listen_port != opts.listen_port:
                # wireguard-go restarted or someone changed it: restore key and port first.
                log.warning("interface lost its key or port; restoring",
                            extra=_fields(interface=opts.interface))
                self.iface.ensure(key_file, opts.listen_port)
            self._known = peer_map(actual)
            self._verified_at = self.clock()
        timings["dump"] = time.perf_counter() - t
        plan = plan_peers(desired.peers, self._known)

        # WireGuard peers and nft policy are independent commands: run them side by side (at
        # 10,000 peers the nft transaction then costs no extra wall time). Either order is
        # safe: an address without a grant is dropped, a grant without a peer carries nothing.
        def timed_wg() -> str:
            t = time.perf_counter()
            try:
                return self._apply_peers(plan)
            finally:
                timings["wg"] = time.perf_counter() - t

        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            wg_future = pool.submit(timed_wg)
            t = time.perf_counter()
            nft_error: CommandError | None = None
            try:
                nft_how = self._apply_nft(desired, verify=verify)
            except CommandError as exc:
                nft_error = exc
            timings["nft"] = time.perf_counter() - t
            method = wg_future.result()  # re-raises a wg failure
        if nft_error is not None:
            raise nft_error

        want_v6 = desired.address6 is not None
        if verify or self._forwarding_on != want_v6:
            for argv in nft.forwarding_argvs(want_v6):
                self.runner.run(argv, timeout=10)
            self._forwarding_on = want_v6

        self.desired = desired
        result = ConvergeResult(plan, method, nft_how, time.perf_counter() - t0, timings)
        if not plan.empty or nft_how != "unchanged":
            log.info("converged", extra=_fields(
                revision=desired.revision, added=len(plan.add), updated=len(plan.update),
                removed=len(plan.remove), unchanged=plan.unchanged, method=method, nft=nft_how,
                ms=round(result.seconds * 1000, 1)))
        return result

    def _apply_peers(self, plan: Plan) -> str:
        """Only changed peers, in as few ``wg set`` calls as fit (10,000 peers: 2 calls)."""
        if plan.empty:
            return "none"
        upserts = [(p.public_key, p.allowed_ips) for p in (*plan.add, *plan.update)]
        self.iface.set_peers(upserts, list(plan.remove))
        assert self._known is not None
        for key in plan.remove:
            self._known.pop(key, None)
        for key, ips in upserts:
            self._known[key] = frozenset(ips)
        return "set"

    def _apply_nft(self, desired: DesiredState, *, verify: bool) -> str:
        rules = nft.build_ruleset(self.options.interface, desired.peers.values(), desired.dns)
        old = self._nft_applied
        if old is not None and verify:
            present = self.runner.run(nft.check_argv(), check=False, timeout=10).returncode == 0
            if not present:
                log.warning("table inet nexavpn vanished; recreating")
                old = None
        if old is not None:
            if old == rules:
                return "unchanged"
            delta = nft.render_delta(old, rules)
            if delta is not None:
                try:
                    self.runner.run(nft.apply_argv(), input=delta, timeout=60)
                    self._nft_applied = rules
                    return "delta"
                except CommandError as exc:
                    log.warning("nft element update failed; replacing the table",
                                extra=_fields(error=exc.stderr.strip()[:300]))
        self._nft_applied = None
        self.runner.run(nft.apply_argv(), input=nft.render(rules), timeout=120)
        self._nft_applied = rules
        return "full"

    def apply_config(self, payload: object, *, verify: bool = False) -> ConvergeResult:
        """Validate a config payload from the server, log skipped peers, converge."""
        desired, skipped = parse_desired(payload, own_public_key=self.public_key,
                                         cache=self._peer_cache)
        for s in skipped[:MAX_SKIP_LOGS]:
            log.warning("peer skipped: invalid data from the server", extra=_fields(
                revision=desired.revision, index=s.index, public_key=s.public_key,
                field=s.field, reason=s.reason))
        if len(skipped) > MAX_SKIP_LOGS:
            log.warning("more peers skipped", extra=_fields(
                revision=desired.revision, count=len(skipped) - MAX_SKIP_LOGS))
        result = self.converge(desired, verify=verify or self.revision is None)
        self.revision = desired.revision
        return result

    # ------------------------------------------------------------------ heartbeat

    def heartbeat_payload(self, state: InterfaceState | None = None) -> dict[str, Any]:
        """Public key, port and per-peer stats, as the contract's heartbeat wants them."""
        state = state or self.iface.state()
        return {
            "public_key": self.public_key,
            "listen_port": self.options.listen_port,
            "peers": [
                {"public_key": p.public_key, "latest_handshake": p.latest_handshake,
                 "rx_bytes": p.rx_bytes, "tx_bytes": p.tx_bytes}
                for p in state.peers.values()
            ],
        }

    def send_heartbeat(self) -> bool:
        """One heartbeat; failures are logged and reported, never raised."""
        try:
            self.heartbeat_client.heartbeat(self.heartbeat_payload())
            return True
        except Unauthorized as exc:
            log.error("heartbeat refused: the agent token is not accepted (401: rotated, "
                      "revoked or the gateway was deleted)", extra=_fields(code=exc.code))
        except ControlPlaneError as exc:
            log.warning("heartbeat failed", extra=_fields(status=exc.status, code=exc.code))
        except ServerUnreachable as exc:
            log.warning("heartbeat failed: control plane unreachable",
                        extra=_fields(error=str(exc)))
        except CommandError as exc:
            log.warning("heartbeat skipped: cannot read the interface",
                        extra=_fields(error=exc.stderr.strip()[:300]))
        return False

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.options.heartbeat_interval):
            self.send_heartbeat()

    def start_heartbeats(self) -> None:
        """Heartbeat at a steady interval from a background thread."""
        self._heartbeat_thread = threading.Thread(
            target=self._heartbeat_loop, name="nexavpn-heartbeat", daemon=True)
        self._heartbeat_thread.start()

    # ------------------------------------------------------------------ loops

    TOKEN_CHECK_INTERVAL = 2.0

    def _token_changed(self) -> bool:
        """True (and the clients switched to it) when the token file now holds another token."""
        if self.read_token is None:
            return False
        try:
            token = self.read_token()
        except (OSError, ValueError):
            return False  # unreadable for a moment (being rewritten): try again later
        changed = False
        for client in {id(c): c for c in (self.client, self.heartbeat_client)}.values():
            changed = client.set_token(token) or changed
        if changed:
            log.info("the token file holds a new token; trying it now")
        return changed

    def _wait_refused(self, seconds: float) -> None:
        """Back off after a 401, but end the wait as soon as a new token is in the file."""
        deadline = self.clock() + seconds
        while not self.stopping:
            left = deadline - self.clock()
            if left <= 0 or self._token_changed():
                return
            self._wait(min(left, self.TOKEN_CHECK_INTERVAL))

    def _wait(self, seconds: float) -> None:
        self._waiting = True
        try:
            self._stop.wait(seconds)
        finally:
            self._waiting = False

    def _backoff(self, failures: int, *, unauthorized: bool = False) -> float:
        if unauthorized:
            base = self.options.unauthorized_backoff
        else:
            base = min(self.options.backoff_max,
                       self.options.backoff_initial * 2 ** (failures - 1))
        return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security

    def _log_refused(self, exc: Unauthorized) -> None:
        minutes = self.options.unauthorized_backoff / 60
        log.error("the control plane refused the agent token (401): it was rotated or revoked, "
                  "or the gateway was deleted; put a new token (admin UI: Gateways -> New token) "
                  "in the token file (picked up within seconds, no restart needed); retrying "
                  f"only every {minutes:g} min", extra=_fields(code=exc.code))

    def _log_failure(self, exc: Exception) -> None:
        """One log line for a failed round, in words; never raises."""
        if isinstance(exc, Unauthorized):
            self._log_refused(exc)
        elif isinstance(exc, ControlPlaneError):
            log.warning("control plane error; keeping the current state",
                        extra=_fields(status=exc.status, code=exc.code, message=exc.message))
        elif isinstance(exc, ServerUnreachable):
            log.warning("control plane unreachable; keeping the current state",
                        extra=_fields(error=str(exc)))
        elif isinstance(exc, InvalidConfig):
            log.error("config rejected; keeping the current state",
                      extra=_fields(field=exc.field, reason=exc.message))
        elif isinstance(exc, CommandError):
            log.error("applying the config failed; will retry",
                      extra=_fields(command=" ".join(exc.argv[:3]),
                                    error=exc.stderr.strip()[:500]))
        elif isinstance(exc, DumpParseError):
            self._known = None
            log.error("cannot read the interface state; will retry",
                      extra=_fields(error=str(exc)))

    def check_token(self) -> dict[str, Any] | None:
        """Fetch the config once, before anything on the host changes; retry until accepted.

        Returns the config (None when stopped first). Nothing is created while the token is
        refused or the server cannot be reached.
        """
        failures = 0
        while not self.stopping:
            try:
                payload = self.client.fetch_config()
                if payload is None:
                    raise ControlPlaneError(304, "no_config", "the server sent no config")
                if failures:
                    log.info("reconnected to the control plane; token accepted",
                             extra=_fields(failures=failures))
                else:
                    log.info("token accepted by the control plane")
                return payload
            except (ControlPlaneError, ServerUnreachable) as exc:
                self._log_failure(exc)
                failures += 1
                refused = isinstance(exc, Unauthorized)
                delay = self._backoff(failures, unauthorized=refused)
                log.info("retrying", extra=_fields(in_seconds=round(delay, 1),
                                                    failures=failures))
                (self._wait_refused if refused else self._wait)(delay)
        return None

    def poll_once(self) -> ConvergeResult | None:
        """One long-poll round: apply a new revision, or on 304 check for drift."""
        self._waiting = True
        try:
            payload = self.client.fetch_config(self.revision, self.options.poll_wait)
        finally:
            self._waiting = False
        if payload is None:
            if self.desired is not None:
                return self.converge(self.desired, verify=True)
            return None
        return self.apply_config(payload)

    def run(self) -> int:
        """Run until stopped; returns the process exit code."""
        try:
            first = self.check_token()
        except StopRequested:
            first = None
        if first is None:
            log.info("stopped before the token was accepted; nothing was changed on this host")
            return 0
        try:
            self.start()
        except (CommandError, OSError) as exc:
            log.error("cannot set up the interface", extra=_fields(error=str(exc)[:500]))
            return 1
        failures = 0
        try:
            self.apply_config(first)
        except (InvalidConfig, CommandError, DumpParseError) as exc:
            self._log_failure(exc)
            failures = 1
        self.send_heartbeat()
        self.start_heartbeats()
        outage_since: float | None = None
        try:
            while not self.stopping:
                try:
                    self.poll_once()
                    if outage_since is not None:
                        log.info("reconnected to the control plane", extra=_fields(
                            after_seconds=round(self.clock() - outage_since, 1),
                            failures=failures))
                        outage_since = None
                    failures = 0
                    continue
                except (ControlPlaneError, ServerUnreachable) as exc:
                    if outage_since is None:
                        outage_since = self.clock()
                    self._log_failure(exc)
                    refused = isinstance(exc, Unauthorized)
                except (InvalidConfig, CommandError, DumpParseError) as exc:
                    self._log_failure(exc)
                    refused = False
                failures += 1
                delay = self._backoff(failures, unauthorized=refused)
                log.info("retrying", extra=_fields(in_seconds=round(delay, 1), failures=failures))
                (self._wait_refused if refused else self._wait)(delay)
        except StopRequested:
            pass
        finally:
            self._stop.set()
            if self._heartbeat_thread is not None:
                self._heartbeat_thread.join(timeout=5)
        log.info("stopped; interface and rules left in place for the data plane")
        return 0

    def run_once(self) -> int:
        """Set up, fetch the config once, converge, heartbeat; exit code 0 on success."""
        try:
            payload = self.client.fetch_config()  # the token first: nothing changes if refused
            if payload is None:
                raise ControlPlaneError(304, "no_config", "the server sent no config")
            self.start()
            self.send_heartbeat()
            self.apply_config(payload)
            self.send_heartbeat()
            return 0
        except (ControlPlaneError, ServerUnreachable, InvalidConfig, CommandError, OSError) as exc:
            log.error("run --once failed", extra=_fields(error=str(exc)[:500]))
            return 1
