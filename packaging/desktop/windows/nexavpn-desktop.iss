; Inno Setup 6 script: the NexaVPN desktop installer for Windows (x64).
;
; Built by packaging/desktop/build-windows.ps1 (CI job `windows`), which passes:
;   ISCC /DAppVersion=0.1.0 /DBundleDir=<PyInstaller one-dir> /DOutputDir=<dir>
;        [/DIconFile=<nexavpn.ico>] [/DWireGuardMsi=<signed wireguard-amd64-*.msi>]
;        packaging\desktop\windows\nexavpn-desktop.iss
;
; What it does: installs the bundle (nexavpn-desktop.exe, nexavpn-client.exe, _internal\) to
; Program Files\NexaVPN, adds the start-menu entry (and optionally a desktop icon, start at
; sign-in, and the CLI on PATH), and makes sure WireGuard for Windows is there: the tunnel
; backend drives its tunnel service (wireguard.exe /installtunnelservice), so the app needs it.
; Detected by wireguard.exe in Program Files or WireGuard's uninstall registry entry; when it is
; missing, the WireGuard MSI bundled at build time (/DWireGuardMsi) is installed silently, or,
; in a build without it, the user is sent to the official download page.
; Admin rights: installing to Program Files and WireGuard's tunnel service both need them.

#define AppName "NexaVPN"
#define AppExe "nexavpn-desktop.exe"
#define CliExe "nexavpn-client.exe"
#define WireGuardDownload "https://download.wireguard.com/windows-client/wireguard-installer.exe"
#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef BundleDir
  #define BundleDir "..\..\out\nexavpn-desktop"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\out"
#endif

[Setup]
AppId={{52354BEC-4990-4BC3-AEF2-F870263C2391}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=NexaVPN
AppPublisherURL=https://nexavpn.invalid/
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=nexavpn-desktop-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes
CloseApplications=yes
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
#ifdef IconFile
SetupIconFile={#IconFile}
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "autostart"; Description: "Start NexaVPN in the tray when I sign in"; GroupDescription: "Options:"
Name: "addtopath"; Description: "Add the nexavpn-client command to PATH"; GroupDescription: "Options:"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
#ifdef WireGuardMsi
Source: "{#WireGuardMsi}"; DestDir: "{tmp}"; DestName: "wireguard.msi"; Flags: deleteafterinstall; Check: not WireGuardInstalled
#endif

[Icons]
Name: "{group}\NexaVPN"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Comment: "Connect to your organisation's VPN"
Name: "{group}\Uninstall NexaVPN"; Filename: "{uninstallexe}"
Name: "{autodesktop}\NexaVPN"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Registry]
Root: HKA; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "NexaVPN"; ValueData: """{app}\{#AppExe}"" --minimized"; Flags: uninsdeletevalue; Tasks: autostart
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
#ifdef WireGuardMsi
Filename: "msiexec.exe"; Parameters: "/i ""{tmp}\wireguard.msi"" /qn /norestart DO_NOT_LAUNCH=1"; StatusMsg: "Installing WireGuard for Windows..."; Flags: waituntilterminated; Check: not WireGuardInstalled
#endif
Filename: "{app}\{#AppExe}"; Description: "Start NexaVPN"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Per-user data (keyring items, %LOCALAPPDATA%\NexaVPN) is the user's and stays; only what
; the app may have written next to itself goes.
Type: filesandordirs; Name: "{app}\_internal\__pycache__"

[Code]
function WireGuardInstalled(): Boolean;
var
  Uninst: String;
begin
  Result := FileExists(ExpandConstant('{commonpf64}\WireGuard\wireguard.exe'))
    or FileExists(ExpandConstant('{commonpf}\WireGuard\wireguard.exe'));
  if not Result then
    Result := RegQueryStringValue(HKLM64,
      'SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\WireGuard', 'DisplayName', Uninst);
end;

function NeedsAddPath(Dir: String): Boolean;
var
  Path: String;
begin
  if not RegQueryStringValue(HKLM, 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment',
                             'Path', Path) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;

function InitializeSetup(): Boolean;
var
  ErrorCode: Integer;
begin
  Result := True;
  if WireGuardInstalled() then
    exit;
#ifdef WireGuardMsi
  Log('WireGuard for Windows is missing: the bundled MSI will be installed.');
#else
  Log('WireGuard for Windows is missing and this build does not bundle it.');
  if SuppressibleMsgBox('NexaVPN needs WireGuard for Windows to bring the VPN tunnel up, ' +
       'and it is not installed.' + #13#10#13#10 +
       'Open the official WireGuard download page now? (Setup continues either way; ' +
       'install WireGuard before you connect.)',
       mbConfirmation, MB_YESNO, IDNO) = IDYES then
    ShellExec('open', '{#WireGuardDownload}', '', '', SW_SHOWNORMAL, ewNoWait, ErrorCode);
#endif
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if (CurStep = ssPostInstall) and not WireGuardInstalled() then
    Log('WireGuard for Windows is still not installed after setup.');
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Path, Dir: String;
  P: Integer;
begin
  if CurUninstallStep <> usPostUninstall then
    exit;
  { Take the install dir back out of PATH if the addtopath task put it there. }
  if not RegQueryStringValue(HKLM, 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment',
                             'Path', Path) then
    exit;
  Dir := ';' + ExpandConstant('{app}');
  P := Pos(Uppercase(Dir), Uppercase(Path));
  if P > 0 then
  begin
    Delete(Path, P, Length(Dir));
    RegWriteExpandStringValue(HKLM, 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment',
                              'Path', Path);
  end;
end;
