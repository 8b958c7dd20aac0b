"""The first-run scripts: a keyring recipe that works in a fresh HOME, libpython for PyInstaller
and the words the desktop bundle build says when that library is missing."""

from __future__ import annotations

import re
import runpy
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _texts() -> dict[Path, str]:
    files = [*ROOT.glob("scripts/*.sh"), *ROOT.glob("packaging/**/*.sh"), *ROOT.glob("docs/*.md"),
             ROOT / "README.md", *ROOT.glob(".ci/*"), *ROOT.glob(".github/workflows/*")]
    return {p: p.read_text(encoding="utf-8") for p in files if p.is_file()}


def test_keyring_is_unlocked_with_a_newline_everywhere() -> None:
    """An empty stdin makes no login collection in a fresh HOME ("Prompt dismissed")."""
    uses = 0
    for path, text in _texts().items():
        for m in re.finditer(r"printf\s+(\S+)\s*\|\s*gnome-keyring-daemon", text):
            uses += 1
            assert m.group(1) in ("'\\n'", '"\\n"'), f"{path.relative_to(ROOT)}: {m.group(0)}"
    assert uses >= 1  # scripts/test.sh has one


def test_keyring_recipe_makes_a_working_collection(tmp_path: Path) -> None:
    """The exact recipe of scripts/test.sh in a fresh HOME: a secret can be stored and read."""
    import shutil

    import pytest

    for tool in ("dbus-run-session", "gnome-keyring-daemon", "secret-tool"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    line = next(li.strip() for li in (ROOT / "scripts/test.sh").read_text().splitlines()
                if "gnome-keyring-daemon --unlock" in li)
    recipe = line.removesuffix("|| true").strip()
    script = (f"{recipe}\nprintf s3cret | secret-tool store --label=t svc nexavpn-test && "
              "secret-tool lookup svc nexavpn-test")
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(tmp_path)}
    tmp_path.chmod(0o700)
    out = subprocess.run(["dbus-run-session", "--", "bash", "-c", script], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "s3cret", out.stderr[-500:]


def test_install_script_installs_libpython_of_the_venv_python() -> None:
    text = (ROOT / "scripts/install-system-deps.sh").read_text()
    assert 'want+=("libpython$pyver")' in text
    out = subprocess.run(["bash", "-n", str(ROOT / "scripts/install-system-deps.sh")],
                         capture_output=True, timeout=30)
    assert out.returncode == 0


def test_bundle_build_names_the_missing_library_and_the_package() -> None:
    mod = runpy.run_path(str(ROOT / "packaging/desktop/check_python_shared.py"))
    assert mod["problem"]("/usr/lib/libpython3.11.so.1.0") is None
    text = mod["problem"](None)
    assert re.search(r"libpython3\.\d+\.so", text)
    assert re.search(r"apt-get install libpython3\.\d+", text)
    assert "--enable-shared" in text
    build = (ROOT / "packaging/desktop/build-linux.sh").read_text()
    assert build.index("check_python_shared.py") < build.index("PyInstaller --noconfirm")
