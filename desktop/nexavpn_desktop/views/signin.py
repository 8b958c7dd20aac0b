"""Sign-in: server address (validated as typed, checked for reachability), user, password.

The view does no work itself: it validates the address with the core's pure URL rule and
emits ``check_requested`` / ``sign_in_requested`` / ``trust_requested``; the window runs the
calls on worker threads and feeds the outcome back through the ``show_*`` methods.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from nexavpn_client import errors
from nexavpn_client.app import ServerCheck
from nexavpn_client.tls import normalize_server_url

from ..icons import brand_pixmap
from ..messages import message_for
from .common import (
    BUTTON_HEIGHT,
    TintedFrame,
    ToneLabel,
    message_label,
    mono_font,
    name,
    show_message,
    split_fingerprint,
    title_label,
)

CHECK_DELAY_MS = 700


class SignInView(QWidget):
    """The first screen: where the user says which server and who they are."""

    check_requested = Signal(str)
    sign_in_requested = Signal(str, str, str)
    trust_requested = Signal(str, str)
    #: (server URL, provider id): "Sign in with <provider>" was pressed.
    sso_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._busy = False
        self._normalized: str | None = None
        self._trust_url: str | None = None
        self._trust_fp: str | None = None

        self.url_edit = QLineEdit(self)
        self.url_edit.setPlaceholderText("https://vpn.example.com")
        name(self.url_edit, "Server address", "The address your administrator gave you.")
        self.url_hint = message_label(self)
        self.check_label = message_label(self)

        self.username_edit = QLineEdit(self)
        name(self.username_edit, "User name")
        self.password_edit = QLineEdit(self)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        name(self.password_edit, "Password")

        self.sign_in_button = QPushButton("Sign in", self)
        self.sign_in_button.setDefault(True)
        self.sign_in_button.setEnabled(False)
        self.sign_in_button.setMinimumHeight(BUTTON_HEIGHT + 4)
        name(self.sign_in_button, "Sign in")
        self.error_label = message_label(self)

        # Trust box: shown for a certificate this computer does not trust.
        self.trust_box = TintedFrame("connecting", self)
        self.trust_text = QLabel(self.trust_box)
        self.trust_text.setWordWrap(True)
        self.fingerprint_label = QLabel(self.trust_box)
        self.fingerprint_label.setFont(mono_font())
        self.fingerprint_label.setWordWrap(True)
        self.fingerprint_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        name(self.fingerprint_label, "Server certificate fingerprint")
        self.trust_button = QPushButton("They match — trust this server",
                                        self.trust_box)
        name(self.trust_button, "Trust this server",
             "Only if the fingerprint matches the one your administrator gave you.")
        self.trust_cancel_button = QPushButton("Cancel", self.trust_box)
        name(self.trust_cancel_button, "Do not trust this server")
        tb = QVBoxLayout(self.trust_box)
        tb.setContentsMargins(12, 10, 12, 10)
        tb.addWidget(self.trust_text)
        tb.addWidget(self.fingerprint_label)
        row = QHBoxLayout()
        row.addWidget(self.trust_button)
        row.addWidget(self.trust_cancel_button)
        row.addStretch(1)
        tb.addLayout(row)
        self.trust_box.setVisible(False)

        # Other ways to sign in (single sign-on) go under an "or" divider below the button.
        self.sso_box = QWidget(self)
        other = QVBoxLayout(self.sso_box)
        other.setContentsMargins(0, 4, 0, 0)
        other.setSpacing(8)
        divider = QHBoxLayout()
        for _ in range(2):
            line = QFrame(self.sso_box)
            line.setFrameShape(QFrame.Shape.HLine)
            line.setFrameShadow(QFrame.Shadow.Plain)
            line.setEnabled(False)
            divider.addWidget(line, 1)
        divider.insertWidget(1, ToneLabel("or", self.sso_box, tone="muted"))
        other.addLayout(divider)
        self.sso_layout = QVBoxLayout()
        self.sso_layout.setSpacing(6)
        other.addLayout(self.sso_layout)
        self.sso_box.setVisible(False)

        for edit in (self.url_edit, self.username_edit, self.password_edit):
            edit.setMinimumHeight(30)

        def field(label: str, widget: QWidget, *extra: QWidget) -> QVBoxLayout:
            box = QVBoxLayout()
            box.setSpacing(3)
            caption = QLabel(label, self)
            caption.setBuddy(widget)
            box.addWidget(caption)
            box.addWidget(widget)
            for w in extra:
                box.addWidget(w)
            return box

        self.logo = QLabel(self)
        self.logo.setPixmap(brand_pixmap(112))
        self.logo.setFixedSize(48, 48)
        self.logo.setScaledContents(True)
        self.logo.setAccessibleName("NexaVPN")
        title = title_label("Sign in to NexaVPN", self, scale=1.6)
        title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        intro = ToneLabel("Use the account your administrator gave you. This computer is then "
                          "registered as one of your VPN devices.", self, tone="muted")
        intro.setWordWrap(True)
        intro.setAlignment(Qt.AlignmentFlag.AlignHCenter)

        column = QVBoxLayout()
        column.setSpacing(10)
        column.addWidget(self.logo, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(title)
        column.addWidget(intro)
        column.addSpacing(6)
        column.addLayout(field("Server &address", self.url_edit, self.url_hint,
                               self.check_label))
        column.addWidget(self.trust_box)
        column.addLayout(field("&User name", self.username_edit))
        column.addLayout(field("&Password", self.password_edit))
        column.addWidget(self.error_label)
        column.addSpacing(4)
        column.addWidget(self.sign_in_button)
        column.addWidget(self.sso_box)
        self.column = QWidget(self)
        self.column.setLayout(column)
        self.column.setMaximumWidth(420)
        page = QWidget(self)
        centre = QHBoxLayout()
        centre.addStretch(1)
        centre.addWidget(self.column, 12)
        centre.addStretch(1)
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(16, 18, 16, 12)
        page_layout.addLayout(centre)
        page_layout.addStretch(1)
        # A small window scrolls instead of squeezing the form (trust box + errors shown).
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(page)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)

        for a, b in ((self.url_edit, self.trust_button), (self.trust_button,
                     self.trust_cancel_button), (self.trust_cancel_button, self.username_edit),
                     (self.username_edit, self.password_edit),
                     (self.password_edit, self.sign_in_button)):
            QWidget.setTabOrder(a, b)
        self.sso_buttons: list[QPushButton] = []
        self._sso_url: str | None = None

        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self._emit_check)

        self.url_edit.textChanged.connect(self._url_changed)
        self.url_edit.editingFinished.connect(self._url_finished)
        self.username_edit.textChanged.connect(self._update_button)
        self.password_edit.textChanged.connect(self._update_button)
        self.sign_in_button.clicked.connect(self._submit)
        self.password_edit.returnPressed.connect(self._submit)
        self.trust_button.clicked.connect(self._trust)
        self.trust_cancel_button.clicked.connect(self.hide_trust)

    def add_sign_in_option(self, button: QPushButton) -> None:
        """Offer another way to sign in (single sign-on) under an "or" divider."""
        button.setParent(self.sso_box)
        button.setMinimumHeight(BUTTON_HEIGHT + 4)
        self.sso_layout.addWidget(button)
        if not button.accessibleName():
            button.setAccessibleName(button.text().replace("&", ""))
        self.sso_box.setVisible(True)
        QWidget.setTabOrder(self.sign_in_button, button)

    # -- input ------------------------------------------------------------------------------

    @property
    def normalized_url(self) -> str | None:
        """The address as the core will use it, or None while it is not valid."""
        return self._normalized

    def set_server(self, url: str | None, username: str | None = None) -> None:
        """Pre-fill the remembered server (and user)."""
        if url:
            self.url_edit.setText(url)
        if username:
            self.username_edit.setText(username)

    def _url_changed(self, text: str) -> None:
        self.hide_trust()
        if hasattr(self, "sso_box"):
            self.sso_box.setVisible(False)
        show_message(self.check_label, "")
        if not text.strip():
            self._normalized = None
            show_message(self.url_hint, "")
        else:
            try:
                self._normalized = normalize_server_url(text)
            except errors.ClientError as exc:
                self._normalized = None
                show_message(self.url_hint, message_for(exc), error=True)
            else:
                show_message(self.url_hint, "")
        if self._normalized:
            self._check_timer.start()
        else:
            self._check_timer.stop()
        self._update_button()

    def _url_finished(self) -> None:
        if self._normalized and self._check_timer.isActive():
            self._check_timer.stop()
            self._emit_check()

    def _emit_check(self) -> None:
        if self._normalized:
            show_message(self.check_label, "Checking the server…")
            self.check_requested.emit(self._normalized)

    def _update_button(self) -> None:
        ready = bool(
            self._normalized
            and self.username_edit.text().strip()
            and self.password_edit.text()
            and not self._busy
        )
        self.sign_in_button.setEnabled(ready)

    def credentials_ready(self) -> bool:
        """True when the form holds everything needed to sign in."""
        return bool(self._normalized and self.username_edit.text().strip()
                    and self.password_edit.text())

    def credentials(self) -> tuple[str, str, str] | None:
        """(server URL, user name, password) when the form is complete, else None."""
        if not self.credentials_ready():
            return None
        assert self._normalized is not None
        return self._normalized, self.username_edit.text().strip(), self.password_edit.text()

    def _submit(self) -> None:
        form = None if self._busy else self.credentials()
        if form is None:
            return
        show_message(self.error_label, "")
        self.sign_in_requested.emit(*form)

    def _trust(self) -> None:
        if self._trust_url and self._trust_fp and not self._busy:
            self.trust_requested.emit(self._trust_url, self._trust_fp)

    # -- feedback ---------------------------------------------------------------------------

    def set_busy(self, busy: bool) -> None:
        """While a call runs the form cannot be sent again."""
        self._busy = busy
        for w in (self.url_edit, self.username_edit, self.password_edit, self.trust_button,
                  *self.sso_buttons):
            w.setEnabled(not busy)
        self._update_button()

    def set_providers(self, url: str, providers: list) -> None:
        """One "Sign in with <name>" button per provider the server at ``url`` offers."""
        if url != self._normalized:
            return  # the address changed meanwhile
        for button in self.sso_buttons:
            self.sso_layout.removeWidget(button)
            button.deleteLater()
        self.sso_buttons = []
        self._sso_url = url
        for provider in providers:
            button = QPushButton(f"Sign in with {provider.name}", self.sso_box)
            button.setAccessibleName(f"Sign in with {provider.name}")
            button.setToolTip("Opens your web browser to sign in with your organisation's "
                              "account.")
            button.clicked.connect(lambda _=False, pid=provider.id: self._sso(pid))
            button.setEnabled(not self._busy)
            self.sso_layout.addWidget(button)
            self.sso_buttons.append(button)
        self.sso_box.setVisible(bool(self.sso_buttons))

    def _sso(self, provider_id: str) -> None:
        if self._busy or not self._sso_url or self._sso_url != self._normalized:
            return
        show_message(self.error_label, "")
        self.sso_requested.emit(self._sso_url, provider_id)

    def show_check_result(self, check: ServerCheck) -> None:
        """The reachability check answered (for the address still in the field)."""
        if check.url != self._normalized:
            return  # the user typed on; a newer check follows
        if check.trusted:
            how = {"pinned": "trusted by its fingerprint", "ca_file": "trusted by your CA file"}
            extra = how.get(check.trust_mode or "", "certificate valid")
            version = f" (version {check.version})" if check.version else ""
            show_message(self.check_label, f"✓ NexaVPN server reachable{version}, {extra}.",
                         ok=True)
            self.hide_trust()
        else:
            show_message(self.check_label, "The server answers, but its certificate is not "
                         "trusted by this computer.", error=True)
            self.show_trust(check.url, check.fingerprint or "", changed=False)

    def show_check_error(self, url: str, text: str) -> None:
        """The reachability check failed: say why under the address."""
        if url == self._normalized:
            show_message(self.check_label, text, error=True)

    def show_error(self, text: str, *, clear_password: bool) -> None:
        """A sign-in failure; only a wrong password empties the password field."""
        show_message(self.error_label, text, error=True)
        if clear_password:
            self.password_edit.clear()
            self.password_edit.setFocus()

    def show_info(self, text: str) -> None:
        """A neutral note above the button (e.g. after signing out)."""
        show_message(self.error_label, text)

    def show_trust(self, url: str, fingerprint: str, *, changed: bool) -> None:
        """Ask the user to compare and explicitly trust the certificate's fingerprint."""
        if not fingerprint:
            return
        self._trust_url, self._trust_fp = url, fingerprint
        if changed:
            text = ("<b>The server's certificate changed.</b> It is not the one you trusted "
                    "before. Trust the new one only if your administrator confirms this "
                    "SHA-256 fingerprint:")
        else:
            text = ("<b>This server uses a certificate your computer does not know</b> "
                    "(for example a self-signed one). Compare this SHA-256 fingerprint with "
                    "the one your administrator gave you:")
        self.trust_text.setText(text)
        self.fingerprint_label.setText(split_fingerprint(fingerprint, lines=4) or "")
        self.trust_box.setVisible(True)

    def hide_trust(self) -> None:
        """Forget a pending trust question."""
        self._trust_url = self._trust_fp = None
        self.trust_box.setVisible(False)

    def clear_password(self) -> None:
        """Signed in: the password is not kept anywhere, the field included."""
        self.password_edit.clear()
