"""Helpers that drive the window like a user: type, click, wait."""

from __future__ import annotations

from PySide6.QtCore import Qt

WAIT_MS = 20000


def fill_sign_in(qtbot, window, url: str, username: str, password: str) -> None:
    """Type the server, user name and password into the sign-in view."""
    view = window.signin
    view.url_edit.clear()
    qtbot.keyClicks(view.url_edit, url)
    view.username_edit.clear()
    qtbot.keyClicks(view.username_edit, username)
    view.password_edit.clear()
    qtbot.keyClicks(view.password_edit, password)


def click(qtbot, button) -> None:
    """A real left click on an enabled button."""
    assert button.isEnabled(), f"{button.text()!r} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def sign_in(qtbot, window, url: str, username: str, password: str) -> None:
    """Fill the form and press Sign in."""
    fill_sign_in(qtbot, window, url, username, password)
    click(qtbot, window.signin.sign_in_button)


def wait_view(qtbot, window, view, timeout: int = WAIT_MS) -> None:
    """Wait until ``view`` is shown and no job runs any more."""
    qtbot.waitUntil(lambda: window.stack.currentWidget() is view and window.tasks.idle,
                    timeout=timeout)


def wait_sign_in_error(qtbot, window, timeout: int = WAIT_MS) -> str:
    """Wait until the sign-in view shows an error after a failed attempt; return its text."""
    label = window.signin.error_label

    def shown() -> bool:
        return (window.stack.currentWidget() is window.signin and label.isVisible()
                and not window.tasks.running("sign-in"))

    qtbot.waitUntil(shown, timeout=timeout)
    return label.text()


def answer_sign_out(qtbot, window, *, remove: bool) -> None:
    """Answer the sign-out question: remove this device from the server, or keep it."""
    qtbot.waitUntil(lambda: window.sign_out_box is not None and window.sign_out_box.isVisible(),
                    timeout=WAIT_MS)
    button = window.remove_button if remove else window.keep_button
    button.click()
