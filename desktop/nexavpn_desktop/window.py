"""The main window: routes between the views and runs every core call through :class:`Tasks`.

Nothing here talks to the network, the keyring or a subprocess: the job functions at the top
call :class:`~nexavpn_client.app.ClientApp` and run on pool threads; their results come back
as queued signals and only then touch widgets. While a device is shown, the core's live
watcher (profile long-poll) runs in its own thread and reports through :class:`WatchBridge`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QStackedWidget,
    QWidget,
)

from nexavpn_client import errors
from nexavpn_client.app import ClientApp, Status, SyncResult, Watcher
from nexavpn_client.connstate import ConnectionKind

from .icons import state_icon
from .messages import clears_password, fingerprint_of, message_for
from .states import describe
from .views import ConnectedView, EnrollingView, RevokedView, SettingsView, SignInView
from .workers import Tasks

log = logging.getLogger(__name__)

#: Profile sync interval when the live watcher cannot run (another program of this install
#: holds it): the window then syncs on a timer instead.
DEFAULT_SYNC_SECONDS = 60.0
DEFAULT_STATUS_SECONDS = 5.0
#: Room for the status card, the address, a few resources and the footer without scrolling.
DEFAULT_SIZE = (480, 660)
#: Below this the sign-in form and the status card would have to squeeze their words.
MINIMUM_SIZE = (400, 540)
_SETTINGS_URL = "server/url"
_SETTINGS_USER = "server/username"
_SETTINGS_FP = "server/fingerprint"


# ---------------------------------------------------------------- jobs (run on pool threads)


def sign_in_job(client: ClientApp, url: str, username: str, password: str) -> Status:
    """Sign in, register this computer, pick the tunnel backend; the resulting status."""
    client.login(url, username, password)  # MfaRequired: the window asks for the code
    return finish_sign_in(client)


def finish_sign_in(client: ClientApp) -> Status:
    """After the tokens: register this computer and pick the tunnel backend."""
    client.enroll()
    report = client.progress
    if report is not None:
        report("Preparing the tunnel", 0.5)
    backend = client.backend()
    if report is not None:
        report(f"Preparing the tunnel ({backend.name})", 1.0)
    return client.status()


def mfa_job(client: ClientApp, url: str, username: str, mfa_token: str, code: str) -> Status:
    """Finish a two-factor sign-in, then register this computer."""
    client.login_mfa(url, mfa_token, code, username=username)
    return finish_sign_in(client)


def sso_job(client: ClientApp, url: str, provider_id: str,
            cancelled: threading.Event) -> Status:
    """Single sign-on in the system browser (loopback redirect), then register."""
    client.login_sso(url, provider_id, cancelled=cancelled)
    return finish_sign_in(client)


def reenroll_job(client: ClientApp) -> Status:
    """Register a revoked computer again (a new device record on the server)."""
    client.enroll()
    return client.status()


def connect_job(client: ClientApp) -> Status:
    """Bring the tunnel up, then report the whole status."""
    client.connect()
    return client.status()


def disconnect_job(client: ClientApp) -> Status:
    """Bring the tunnel down, then report the whole status."""
    client.disconnect()
    return client.status()


def sync_job(client: ClientApp) -> tuple[SyncResult, Status]:
    """Fetch profile changes (revocation raises), then report the whole status."""
    result = client.sync()
    return result, client.status()


# ---------------------------------------------------------------- the window


class WatchBridge(QObject):
    """Carries the watcher thread's callbacks to the GUI thread (queued signals)."""

    result = Signal(int, object)
    error = Signal(int, object, str)


class MainWindow(QMainWindow):
    """One window, five views in a stack, a busy indicator in the status bar."""

    #: A :class:`ConnectionKind` value (``connected``, ``connecting``, ``no_handshake``,
    #: ``disconnected``, ``handed_off``, ``revoked``, ``pending_approval``, ``key_mismatch``,
    #: ``unavailable``) or ``signed_out``; the full value is ``self.status.state``.
    state_changed = Signal(str)

    def __init__(
        self,
        client: ClientApp,
        *,
        settings: QSettings | None = None,
        log_dir: Path | None = None,
        sync_interval: float | None = None,
        status_interval: float = DEFAULT_STATUS_SECONDS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.client = client
        self.settings = settings or QSettings("NexaVPN", "NexaVPN Desktop")
        self.tasks = Tasks(self)
        client.progress = self.tasks.report_progress
        self.tray: Any = None  # set by the tray when one exists
        self.status: Status | None = None
        self.state = "signed_out"
        self.server_version: str | None = None
        self._quitting = False
        self._told_about_tray = False
        self.watcher: Watcher | None = None
        self._watch_gen = 0
        self.watch_bridge = WatchBridge(self)
        self.watch_bridge.result.connect(self._on_watch_result)
        self.watch_bridge.error.connect(self._on_watch_error)
        if sync_interval is not None:  # a server without long-poll is asked this often
            client.poll_fallback_seconds = max(0.2, float(sync_interval))
        self._sso_cancel = threading.Event()
        self._pending_mfa: tuple[str, str, str] | None = None
        self.totp_dialog: QInputDialog | None = None
        self.sign_out_box: QMessageBox | None = None

        self.setWindowTitle("NexaVPN")
        self.setWindowIcon(state_icon("signed_out"))
        self.resize(DEFAULT_SIZE[0], DEFAULT_SIZE[1])
        self.setMinimumSize(MINIMUM_SIZE[0], MINIMUM_SIZE[1])

        self.signin = SignInView(self)
        self.enrolling = EnrollingView(self)
        self.connected = ConnectedView(self)
        self.revoked = RevokedView(self)
        self.settings_view = SettingsView(log_dir, self)
        self.stack = QStackedWidget(self)
        for view in (self.signin, self.enrolling, self.connected, self.revoked,
                     self.settings_view):
            self.stack.addWidget(view)
        self.setCentralWidget(self.stack)

        self.busy_bar = QProgressBar(self)
        self.busy_bar.setRange(0, 0)  # indeterminate
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setVisible(False)
        self.step_label = QLabel(self)
        self.statusBar().addWidget(self.step_label, 1)
        self.statusBar().addPermanentWidget(self.busy_bar)

        self.sync_timer = QTimer(self)
        self.sync_timer.setInterval(int((sync_interval or DEFAULT_SYNC_SECONDS) * 1000))
        self.sync_timer.timeout.connect(self._timer_tick)
        self.status_timer = QTimer(self)
        self.status_timer.setInterval(int(status_interval * 1000))
        self.status_timer.timeout.connect(self._periodic_status)

        self.tasks.busy_changed.connect(self._on_busy)
        self.tasks.job_finished.connect(self._on_job_finished)
        self.tasks.progress.connect(self._on_progress)
        self.signin.check_requested.connect(self._check_server)
        self.signin.sign_in_requested.connect(self._sign_in)
        self.signin.trust_requested.connect(self._trust)
        self.signin.sso_requested.connect(self._sign_in_sso)
        self.enrolling.cancel_requested.connect(lambda: self._sso_cancel.set())
        self.connected.connect_requested.connect(self.request_connect)
        self.connected.disconnect_requested.connect(self.request_disconnect)
        self.connected.sync_requested.connect(self.request_sync)
        self.connected.open_in_wireguard_requested.connect(self._open_in_wireguard)
        self.connected.settings_requested.connect(self.show_settings)
        self.connected.sign_out_requested.connect(self.request_sign_out)
        self.revoked.sign_out_requested.connect(self.request_sign_out)
        self.revoked.reenroll_requested.connect(self._reenroll)
        self.settings_view.back_requested.connect(self._settings_back)
        self.settings_view.sign_out_requested.connect(self.request_sign_out)

        self.signin.set_server(self.settings.value(_SETTINGS_URL, "", str) or None,
                               self.settings.value(_SETTINGS_USER, "", str) or None)
        self.stack.setCurrentWidget(self.signin)

    # ------------------------------------------------------------ start and routing

    def start(self) -> None:
        """Read the local status (off the GUI thread) and open the right view."""
        self.tasks.run("status", self.client.status, on_success=self._route,
                       on_failure=self._status_failed)

    def _status_failed(self, exc: BaseException, text: str) -> None:
        self.show_sign_in(text, error=True)

    def _route(self, status: Status) -> None:
        """The view that fits the core's state."""
        self.status = status
        if status.revoked:
            self.show_revoked()
        elif status.key_mismatch:
            self.show_key_mismatch()
        elif status.logged_in and status.enrolled:
            self.show_connected(status)
        else:
            self.show_sign_in(
                "Sign in again to finish registering this computer."
                if status.logged_in else "",
                url=status.server,
                username=status.user,
            )

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.setWindowIcon(state_icon(state))
            self.state_changed.emit(state)

    def show_sign_in(self, text: str = "", *, error: bool = False, url: str | None = None,
                     username: str | None = None) -> None:
        """Back to the sign-in form (timers stopped)."""
        self._stop_timers()
        self.signin.set_server(url, username)
        if error:
            self.signin.show_error(text, clear_password=False)
        else:
            self.signin.show_info(text)
        self.stack.setCurrentWidget(self.signin)
        self._set_state("signed_out")

    def show_connected(self, status: Status) -> None:
        """The status view, with the live watcher (or a sync timer) and status refresh."""
        was_shown = self.stack.currentWidget() in (self.connected, self.settings_view)
        self._apply_status(status)
        if not was_shown:
            self.stack.setCurrentWidget(self.connected)
        self._start_watching()
        if not self.status_timer.isActive():
            self.status_timer.start()
        if self.connected.is_handoff and not was_shown:
            self.tasks.run("qr", self.client.config_qr_png, on_success=self.connected.set_qr,
                           background=True)

    def show_revoked(self) -> None:
        """This device was revoked: the dead-end view (timers stopped)."""
        self._stop_timers()
        self.revoked.set_reason("revoked")
        self.stack.setCurrentWidget(self.revoked)
        self._set_state("revoked")

    def show_key_mismatch(self) -> None:
        """The server's key is not ours: say so and offer re-registration (tunnel is down)."""
        self._stop_timers()
        self.revoked.set_reason("key_mismatch")
        self.stack.setCurrentWidget(self.revoked)
        self._set_state("key_mismatch")

    # ------------------------------------------------------------ live watcher

    @property
    def watching(self) -> bool:
        """True while the live profile watcher of this window runs."""
        return self.watcher is not None and not self.watcher.stop_event.is_set()

    def _start_watching(self) -> None:
        """Sync at once, then follow the profile live; the timer only if the watch is taken."""
        if self.watching or self.sync_timer.isActive():
            return
        self._watch_gen += 1
        gen = self._watch_gen
        bridge = self.watch_bridge

        def on_result(result: SyncResult) -> None:
            with contextlib.suppress(RuntimeError):  # the window was closed meanwhile
                bridge.result.emit(gen, result)

        def on_error(exc: errors.ClientError) -> None:
            with contextlib.suppress(RuntimeError):
                bridge.error.emit(gen, exc, message_for(exc))

        try:
            self.watcher = self.client.start_watcher(
                on_result, on_error, holder="The NexaVPN desktop app"
            )
        except errors.TunnelInUse as exc:
            log.info("live watcher held elsewhere: %s", exc.message)
            self.connected.show_message(
                f"{exc.message} This window checks for profile changes every "
                f"{int(self.sync_timer.interval() / 1000)} s meanwhile.")
            self.sync_timer.start()
            self.request_sync(background=True)

    def _timer_tick(self) -> None:
        """Timer mode (another program held the watch): take the watch over once it is free."""
        self.sync_timer.stop()
        self._start_watching()

    def _stop_watching(self) -> None:
        """End the watcher without waiting for its held request (it ends on its own)."""
        self._watch_gen += 1
        if self.watcher is not None:
            self.watcher.stop(timeout=0)
            self.watcher = None

    def _on_watch_result(self, gen: int, result: object) -> None:
        if gen != self._watch_gen or not isinstance(result, SyncResult):
            return
        if result.changed or result.offline:
            self.connected.show_message(result.message, error=result.offline)
        self.refresh_status()

    def _on_watch_error(self, gen: int, exc: object, text: str) -> None:
        if gen != self._watch_gen or not isinstance(exc, BaseException):
            return
        if isinstance(exc, errors.DeviceRevoked | errors.SessionExpired | errors.NotLoggedIn
                      | errors.NotEnrolled | errors.KeyMismatch | errors.ProfileCorrupt):
            self._stop_watching()
            self._action_failed(exc, text)
        else:  # transient: the watcher backs off and retries by itself
            self.connected.show_message(text, error=True)

    def show_settings(self) -> None:
        """Settings & about."""
        fp = self.settings.value(_SETTINGS_FP, "", str) or None
        # The core's Status does not carry the device fingerprint yet; shown once it does.
        device_fp = getattr(self.status, "device_fingerprint", None)
        self.settings_view.set_info(self.status, server_fingerprint=fp,
                                    server_version=self.server_version,
                                    device_fingerprint=device_fp)
        self.stack.setCurrentWidget(self.settings_view)

    def _settings_back(self) -> None:
        if self.status is not None and self.status.revoked:
            self.stack.setCurrentWidget(self.revoked)
        elif self.status is not None and self.status.enrolled:
            self.stack.setCurrentWidget(self.connected)
        else:
            self.stack.setCurrentWidget(self.signin)

    def _apply_status(self, status: Status) -> None:
        self.status = status
        kind = status.state.kind if status.state is not None else None
        if kind is ConnectionKind.REVOKED:
            self.show_revoked()
            return
        if kind is ConnectionKind.KEY_MISMATCH:
            self.show_key_mismatch()
            return
        self.connected.set_status(status)
        self._set_state(str(describe(status).kind))

    def _stop_timers(self) -> None:
        self._stop_watching()
        self.sync_timer.stop()
        self.status_timer.stop()

    # ------------------------------------------------------------ busy + progress

    def _on_busy(self, busy: bool) -> None:
        self.busy_bar.setVisible(busy)
        if not busy:
            self.step_label.clear()
        self.signin.set_busy(busy)
        self.connected.set_busy(busy)
        self.revoked.set_busy(busy)

    def _on_job_finished(self, _name: str) -> None:
        if self.tasks.idle:
            self.step_label.clear()

    def _on_progress(self, text: str, fraction: object) -> None:
        self.step_label.setText(text)
        if self.stack.currentWidget() is self.enrolling:
            self.enrolling.on_progress(text, fraction if isinstance(fraction, float) else None)

    # ------------------------------------------------------------ sign-in

    def _check_server(self, url: str) -> None:
        def ok(check: Any) -> None:
            self.server_version = check.version or self.server_version
            if check.fingerprint:
                self._remember_fingerprint(check.fingerprint)
            self.signin.show_check_result(check)
            if check.trusted:
                self._load_providers(check.url)

        def failed(exc: BaseException, text: str) -> None:
            fp = fingerprint_of(exc)
            if fp and url == self.signin.normalized_url:
                self.signin.show_trust(url, fp, changed=isinstance(exc, errors.PinMismatch))
            self.signin.show_check_error(url, text)

        self.tasks.run("check", self.client.check_server, url, on_success=ok,
                       on_failure=failed, background=True)

    def _sign_in(self, url: str, username: str, password: str) -> None:
        self.enrolling.reset()
        self.stack.setCurrentWidget(self.enrolling)
        self.settings.setValue(_SETTINGS_URL, url)
        self.settings.setValue(_SETTINGS_USER, username)
        self.tasks.run("sign-in", sign_in_job, self.client, url, username, password,
                       on_success=self._signed_in,
                       on_failure=lambda exc, text: self._sign_in_failed(
                           exc, text, url=url, username=username))

    def _sign_in_sso(self, url: str, provider_id: str) -> None:
        """"Sign in with <provider>": the system browser, a loopback redirect, then enroll."""
        self.enrolling.reset()
        self.stack.setCurrentWidget(self.enrolling)
        self.settings.setValue(_SETTINGS_URL, url)
        self._sso_cancel = threading.Event()
        self.enrolling.show_cancel(True)
        self.tasks.run("sign-in", sso_job, self.client, url, provider_id, self._sso_cancel,
                       on_success=self._signed_in, on_failure=self._sign_in_failed)

    def _load_providers(self, url: str) -> None:
        """Ask the (reachable, trusted) server which sign-in providers it offers."""
        self.tasks.run("providers", self.client.providers, url,
                       on_success=lambda providers: self.signin.set_providers(url, providers),
                       on_failure=lambda exc, text: self.signin.set_providers(url, []),
                       background=True)

    def ask_totp(self, error: str = "") -> None:
        """The two-factor prompt (non-blocking); its answer continues the sign-in."""
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Two-factor sign-in")
        dialog.setLabelText(
            (error + "\n\n" if error else "")
            + "Enter the 6-digit code from your authenticator app (or a recovery code).")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setInputMode(QInputDialog.InputMode.TextInput)
        dialog.textValueSelected.connect(self._totp_entered)
        dialog.rejected.connect(self._totp_cancelled)
        self.totp_dialog = dialog
        dialog.open()

    def _totp_entered(self, code: str) -> None:
        self.totp_dialog = None
        if self._pending_mfa is None:
            return
        url, username, token = self._pending_mfa
        self.enrolling.reset()
        self.stack.setCurrentWidget(self.enrolling)
        self.tasks.run("sign-in", mfa_job, self.client, url, username, token, code,
                       on_success=self._signed_in,
                       on_failure=lambda exc, text: self._sign_in_failed(
                           exc, text, url=url, username=username))

    def _totp_cancelled(self) -> None:
        self.totp_dialog = None
        self._pending_mfa = None
        self.signin.show_info("Sign-in cancelled: the two-factor code is needed.")

    def _signed_in(self, status: Status) -> None:
        self.enrolling.show_cancel(False)
        self.enrolling.finish()
        self.signin.clear_password()
        self.signin.show_info("")
        self.signin.hide_trust()
        self._route(status)

    def _sign_in_failed(self, exc: BaseException, text: str, *, url: str | None = None,
                        username: str | None = None) -> None:
        self.enrolling.show_cancel(False)
        self.stack.setCurrentWidget(self.signin)
        self._set_state("signed_out")
        if isinstance(exc, errors.MfaRequired) and url and username:
            self._pending_mfa = (url, username, exc.mfa_token)
            self.signin.show_info("")
            self.ask_totp()
            return
        if isinstance(exc, errors.InvalidMfaCode) and self._pending_mfa is not None:
            self.ask_totp(text)
            return
        self._pending_mfa = None
        fp = fingerprint_of(exc)
        url = self.signin.normalized_url
        if fp and url:
            self.signin.show_trust(url, fp, changed=isinstance(exc, errors.PinMismatch))
        self.signin.show_error(text, clear_password=clears_password(exc))

    def _trust(self, url: str, fingerprint: str) -> None:
        def ok(check: Any) -> None:
            self.server_version = check.version or self.server_version
            self._remember_fingerprint(check.fingerprint or fingerprint)
            self.signin.hide_trust()
            self.signin.show_check_result(check)
            self._load_providers(check.url)
            form = self.signin.credentials()
            if form is not None:  # the user had filled everything in: go on signing in
                self._sign_in(*form)

        def failed(exc: BaseException, text: str) -> None:
            self.signin.show_error(text, clear_password=False)

        self.tasks.run("trust", self.client.trust, url, fingerprint, on_success=ok,
                       on_failure=failed)

    def _remember_fingerprint(self, fingerprint: str) -> None:
        self.settings.setValue(_SETTINGS_FP, fingerprint)

    # ------------------------------------------------------------ connected actions

    def request_connect(self) -> None:
        """Connect (from the button or the tray)."""
        if self.status is None or not self.status.enrolled or self.status.revoked:
            return
        if self.status.key_mismatch or self.status.pending_approval:
            return
        if self.tasks.running("connect") or self.tasks.running("disconnect"):
            return
        self.connected.set_state("connecting")
        self._set_state("connecting")
        self.connected.show_message("")
        self.tasks.run("connect", connect_job, self.client, on_success=self._apply_status,
                       on_failure=self._action_failed)

    def request_disconnect(self) -> None:
        """Disconnect (from the button or the tray)."""
        if self.status is None or not self.status.enrolled:
            return
        if self.tasks.running("connect") or self.tasks.running("disconnect"):
            return
        self.connected.set_state("disconnecting")
        self.connected.show_message("")
        self.tasks.run("disconnect", disconnect_job, self.client,
                       on_success=self._apply_status, on_failure=self._action_failed)

    def request_sync(self, background: bool = False) -> None:
        """Sync now (button) or periodically (timer, ``background``)."""
        if self.tasks.running("sync"):
            return

        def ok(out: tuple[SyncResult, Status]) -> None:
            result, status = out
            self._apply_status(status)
            if not background or result.changed:
                self.connected.show_message(result.message, error=result.offline)

        self.tasks.run("sync", sync_job, self.client, on_success=ok,
                       on_failure=self._action_failed, background=background)

    def _periodic_status(self) -> None:
        if self.stack.currentWidget() is not self.connected or self.tasks.running("status"):
            return
        if self.tasks.running("connect") or self.tasks.running("disconnect"):
            return
        self.tasks.run("status", self.client.status, on_success=self._apply_status,
                       background=True)

    def _open_in_wireguard(self) -> None:
        self.tasks.run(
            "open-in-wireguard",
            self.client.open_in_wireguard_app,
            on_success=lambda path: self.connected.show_message(
                f"The profile was handed to the WireGuard app (saved as {path})."),
            on_failure=self._action_failed,
        )

    def _reenroll(self) -> None:
        self.tasks.run("reenroll", reenroll_job, self.client, on_success=self._route,
                       on_failure=self._reenroll_failed)

    def _reenroll_failed(self, exc: Exception, text: str) -> None:
        """The session died with the revoked device: registering again needs a new sign-in."""
        if isinstance(exc, errors.SessionExpired | errors.DeviceRevoked):
            server = self.status.server if self.status else None
            self.show_sign_in("Sign in again to register this computer.", url=server)
            return
        self.revoked.show_error(text)

    def request_sign_out(self) -> None:
        """Sign out; for a registered device first ask whether to remove it from the server."""
        registered = bool(self.status and self.status.enrolled and not self.status.revoked
                          and self.status.logged_in)
        if not registered:
            self.sign_out(remove_device=False)
            return
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Sign out")
        box.setText("Also remove this computer from your VPN devices?")
        box.setInformativeText(
            "Removing it deletes this device on the server: it can never connect again with "
            "its key, and signing in later registers it as a new device. Keeping it leaves "
            "the device registered (your administrator still sees it).")
        self.remove_button = box.addButton("Sign out and remove this device",
                                           QMessageBox.ButtonRole.DestructiveRole)
        self.keep_button = box.addButton("Sign out, keep it registered",
                                         QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(self.keep_button)

        def answered(button: Any) -> None:
            self.sign_out_box = None
            if button is self.remove_button:
                self.sign_out(remove_device=True)
            elif button is self.keep_button:
                self.sign_out(remove_device=False)

        box.buttonClicked.connect(answered)
        self.sign_out_box = box
        box.open()

    def sign_out(self, *, remove_device: bool) -> None:
        """The core ends the session (and removes the device if asked), the tunnel, secrets."""
        self._stop_timers()

        def done(result: Any) -> None:
            note = "You are signed out."
            if getattr(result, "device_removed", False):
                note += " This device was removed from the server."
            elif getattr(result, "device_registered", False):
                note += " This device stays registered on the server."
            if getattr(result, "problems", None):
                note += " " + " ".join(result.problems)
            self.status = None
            self.show_sign_in(note)

        def failed(exc: BaseException, text: str) -> None:
            self.show_sign_in(f"Signing out did not finish: {text}", error=True)

        self.tasks.run("sign-out", self.client.logout, remove_device, on_success=done,
                       on_failure=failed)

    def _action_failed(self, exc: BaseException, text: str) -> None:
        """Failures of connected-view actions; some change the whole view."""
        if isinstance(exc, errors.DeviceRevoked):
            self.tasks.run("status", self.client.status, on_success=self._route)
            self.show_revoked()
            return
        if isinstance(exc, errors.KeyMismatch):
            self.show_key_mismatch()
            return
        if isinstance(exc, errors.SessionExpired | errors.NotLoggedIn):
            if isinstance(exc, errors.NotLoggedIn) and self.stack.currentWidget() is self.signin:
                return  # already sent back (the watcher saw the session end first)
            # Signed in a moment ago and the tokens are gone: the session ended (whichever
            # thread — the watcher or this action — noticed first).
            self.show_sign_in(message_for(errors.SessionExpired()), error=True)
            return
        if isinstance(exc, errors.NotEnrolled):
            self.show_sign_in(text, error=True)
            return
        self.connected.show_message(text, error=True)
        self.refresh_status()

    def refresh_status(self) -> None:
        """Re-read the local status now (in the background)."""
        self.tasks.run("status", self.client.status, on_success=self._apply_status,
                       background=True)

    # ------------------------------------------------------------ window life

    def show_and_raise(self) -> None:
        """Bring the window back (tray)."""
        self.show()
        self.raise_()
        self.activateWindow()

    def quit_app(self) -> None:
        """Really quit (tray's Quit): close the window and end the event loop."""
        self._quitting = True
        self.close()
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            app.quit()

    def shutdown(self, wait_ms: int = 10000) -> None:
        """Stop timers and wait for running calls (each is bounded by the core's timeouts)."""
        self._stop_timers()
        self._sso_cancel.set()
        if not self.tasks.wait(wait_ms):
            log.warning("some background calls were still running at exit")

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the window keeps the app in the tray (when there is one)."""
        tray_up = self.tray is not None and self.tray.available
        if tray_up and not self._quitting:
            event.ignore()
            self.hide()
            if not self._told_about_tray:
                self._told_about_tray = True
                self.tray.notify("NexaVPN keeps running in the tray. Quit it from the tray "
                                 "menu.")
            return
        self.shutdown()
        event.accept()
