<#
.SYNOPSIS
  Builds the Windows desktop client: the PyInstaller one-dir bundle and the Inno Setup
  installer nexavpn-desktop-<version>-windows-x64-setup.exe. Runs on Windows only (CI job
  `windows` in .github/workflows/desktop.yml).

.DESCRIPTION
  1. Renders the icon (make_icons.py) and builds packaging\desktop\nexavpn-desktop.spec.
  2. Checks the bundle: nexavpn-client.exe --version, and the GUI starts offscreen and quits.
  3. Signs both programs with signtool when a certificate is given (optional).
  4. Compiles packaging\desktop\windows\nexavpn-desktop.iss with ISCC (Inno Setup 6) and signs
     the installer the same way.
  With -WireGuardMsi the official WireGuard MSI is bundled (installed silently when missing);
  its Authenticode signature must be valid and from WireGuard LLC, or the build stops.

.PARAMETER OutDir
  Output directory (default: packaging\out, or $env:NEXAVPN_PKG_OUT).
.PARAMETER Python
  Interpreter with '.[packaging]' installed (default: $env:NEXAVPN_BUILD_PYTHON, else python).
.PARAMETER SignCertFile
  PFX file for signtool (default: $env:NEXAVPN_WIN_CERT_FILE); password in
  $env:NEXAVPN_WIN_CERT_PASSWORD. Unset: the programs and installer are not signed.
.PARAMETER WireGuardMsi
  Path of wireguard-amd64-<v>.msi to bundle (optional).
#>
[CmdletBinding()]
param(
  [string]$OutDir = $(if ($env:NEXAVPN_PKG_OUT) { $env:NEXAVPN_PKG_OUT } else { "" }),
  [string]$Python = $(if ($env:NEXAVPN_BUILD_PYTHON) { $env:NEXAVPN_BUILD_PYTHON } else { "python" }),
  [string]$SignCertFile = $env:NEXAVPN_WIN_CERT_FILE,
  [string]$WireGuardMsi = ""
)
Set-StrictMode -Version Latest
$ErrorActionPreference = "Stop"

$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
$Here = Join-Path $Root "packaging\desktop"
if (-not $OutDir) { $OutDir = Join-Path $Root "packaging\out" }
New-Item -ItemType Directory -Force -Path $OutDir | Out-Null
$Work = Join-Path ([IO.Path]::GetTempPath()) ("nexavpn-build-" + [guid]::NewGuid())
New-Item -ItemType Directory -Force -Path $Work | Out-Null

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
  & $Exe @Arguments
  if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Find-Iscc {
  $cmd = Get-Command iscc.exe -ErrorAction SilentlyContinue
  if ($cmd) { return $cmd.Source }
  foreach ($p in @("${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe", "$env:ProgramFiles\Inno Setup 6\ISCC.exe")) {
    if (Test-Path $p) { return $p }
  }
  throw "ISCC.exe (Inno Setup 6) not found: choco install innosetup"
}

function Invoke-Sign([string]$File) {
  if (-not $SignCertFile) { return }
  $signtool = Get-ChildItem "${env:ProgramFiles(x86)}\Windows Kits\10\bin\*\x64\signtool.exe" |
    Sort-Object FullName -Descending | Select-Object -First 1
  if (-not $signtool) { throw "signtool.exe not found (Windows SDK)" }
  Invoke-Checked $signtool.FullName @("sign", "/f", $SignCertFile, "/p", $env:NEXAVPN_WIN_CERT_PASSWORD,
    "/fd", "SHA256", "/tr", "http://timestamp.digicert.com", "/td", "SHA256", $File)
}

try {
  $Version = & $Python -c "import sys, tomllib; print(tomllib.load(open(sys.argv[1], 'rb'))['project']['version'])" (Join-Path $Root "pyproject.toml")
  if ($LASTEXITCODE -ne 0) { throw "cannot read the version from pyproject.toml" }

  # 1. Icon and bundle.
  $Icons = Join-Path $Work "icons"
  $env:QT_QPA_PLATFORM = "offscreen"
  Invoke-Checked $Python @((Join-Path $Here "make_icons.py"), $Icons)
  $env:NEXAVPN_ICON_DIR = $Icons
  Invoke-Checked $Python @("-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
    "--distpath", (Join-Path $Work "dist"), "--workpath", (Join-Path $Work "build"),
    (Join-Path $Here "nexavpn-desktop.spec"))
  $Bundle = Join-Path $OutDir "nexavpn-desktop"
  if (Test-Path $Bundle) { Remove-Item -Recurse -Force $Bundle }
  Move-Item (Join-Path $Work "dist\nexavpn-desktop") $Bundle

  # 2. Smoke: the CLI's version, and the (windowed) GUI comes up offscreen and quits itself.
  $got = & (Join-Path $Bundle "nexavpn-client.exe") --version
  if ($got -ne "nexavpn-client $Version") { throw "bundled CLI says '$got'" }
  $env:PYTHON_KEYRING_BACKEND = "keyring.backends.null.Keyring"
  $env:NEXAVPN_CLIENT_STATE_DIR = Join-Path $Work "state"
  $gui = Start-Process -FilePath (Join-Path $Bundle "nexavpn-desktop.exe") -ArgumentList "--quit-after", "3" `
    -PassThru -Wait -RedirectStandardOutput (Join-Path $Work "gui.txt")
  if ($gui.ExitCode -ne 0) { throw "bundled GUI self-test exited with $($gui.ExitCode)" }
  Remove-Item Env:PYTHON_KEYRING_BACKEND, Env:NEXAVPN_CLIENT_STATE_DIR

  # 3. Signatures on the programs (before they go into the installer).
  Invoke-Sign (Join-Path $Bundle "nexavpn-desktop.exe")
  Invoke-Sign (Join-Path $Bundle "nexavpn-client.exe")

  # 4. The installer.
  $IsccArgs = @("/Q", "/DAppVersion=$Version", "/DBundleDir=$Bundle", "/DOutputDir=$OutDir",
                "/DIconFile=$(Join-Path $Icons 'nexavpn.ico')")
  if ($WireGuardMsi) {
    $sig = Get-AuthenticodeSignature $WireGuardMsi
    if ($sig.Status -ne "Valid" -or $sig.SignerCertificate.Subject -notmatch "O=WireGuard LLC") {
      throw "$WireGuardMsi is not signed by WireGuard LLC ($($sig.Status))"
    }
    $IsccArgs += "/DWireGuardMsi=$((Resolve-Path $WireGuardMsi).Path)"
  }
  Invoke-Checked (Find-Iscc) ($IsccArgs + @((Join-Path $Here "windows\nexavpn-desktop.iss")))
  $Setup = Join-Path $OutDir "nexavpn-desktop-$Version-windows-x64-setup.exe"
  if (-not (Test-Path $Setup)) { throw "ISCC did not produce $Setup" }
  Invoke-Sign $Setup
  Write-Output $Bundle
  Write-Output $Setup
}
finally {
  Remove-Item -Recurse -Force $Work -ErrorAction SilentlyContinue
}
