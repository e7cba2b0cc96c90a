#Requires -Version 7.4
<#
.SYNOPSIS
    The sshd ForceCommand of the Shellbox bastion: `ssh shellbox.dev connect dev33`.
.DESCRIPTION
    Reads SSH_ORIGINAL_COMMAND and the public key the user authenticated with (sshd `ExposeAuthInfo yes`
    puts it in the file named by SSH_USER_AUTH) and hands both to Shellbox, which derives the user id from
    the key (the first 32 hex digits of the SHA-256 of the key blob), checks everything strictly and runs
    the verb. User text is never handed to a shell on the bastion: a command after `connect NAME` is passed
    as one argument to ssh and runs in the user's own box. Anything else gets one line and a non-zero exit.

    Where: the front door (Start-ShellboxFrontDoor, listening on $SHELLBOX_HOME/frontdoor.sock) when it
    runs, so no login loads the module; else this process imports the module and does the same work
    (Invoke-ShellboxSshCommand). The verbs, their checks and their lines are the same either way.

    Any public key is a user (open sign-up: the AuthorizedKeysCommand shellbox-authorized-keys accepts it);
    a key the operator blocked (Block-ShellboxUser) gets one line for every command and nothing else.

    connect NAME [COMMAND...]  connect to box NAME (created if new); with COMMAND, run it there
    spinup NAME                create box NAME without connecting
    remove NAME                delete box NAME and its volume (asks nothing)
    duplicate NAME NEW         copy box NAME (disk, RAM, running programs) into a new box NEW
    keepalive NAME DURATION    keep NAME running up to DURATION (30m, 2h) after its last session; off: suspend
    list [--json]              your boxes
    info NAME [--json]         state, created, last used, disk used, how its RAM state is kept
    whoami                     your user id
    help                       this list
#>
[CmdletBinding()]
param()

# Every login runs this: only .NET calls until the module is needed (no cmdlet or module auto-loading, each of
# which costs tens of milliseconds), and the module only when no front door answers.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Stop-WithError([string] $Message, [int] $Code) {
    [Console]::Error.WriteLine("shellbox: $Message")
    exit $Code
}

# The public key the user authenticated with, as 'TYPE BASE64'.
$authFile = $env:SSH_USER_AUTH
if (-not $authFile -or -not [IO.File]::Exists($authFile)) { Stop-WithError 'the bastion is misconfigured: sshd must set ExposeAuthInfo yes.' 3 }
$authKey = $null
foreach ($line in [IO.File]::ReadAllLines($authFile)) {
    $m = [regex]::Match($line, '^publickey\s+(\S+)\s+([A-Za-z0-9+/=]+)')
    if ($m.Success) { $authKey = "$($m.Groups[1].Value) $($m.Groups[2].Value)"; break }
}
if (-not $authKey) { Stop-WithError 'Shellbox accepts public-key authentication only.' 3 }
$original = [string]$env:SSH_ORIGINAL_COMMAND

# Runs ssh to the box on this process's own terminal (stdin, stdout, stderr as sshd gave them); its exit code.
function Invoke-BoxSsh([Collections.Generic.List[string]] $Arguments) {
    $start = [Diagnostics.ProcessStartInfo]::new('ssh')
    $start.UseShellExecute = $false
    foreach ($a in $Arguments) { $start.ArgumentList.Add($a) }
    $ssh = [Diagnostics.Process]::Start($start)
    $ssh.WaitForExit()
    $ssh.ExitCode
}

# The front door: one JSON request line; then lines {"out"}, {"err"}, and {"exit"} or {"ssh"} (see FrontDoorProtocol).
# SHELLBOX_FRONTDOOR=off (sshd_config SetEnv) makes every login do the work in its own process, front door or not.
$socketPath = if ($env:SHELLBOX_HOME -and $env:SHELLBOX_FRONTDOOR -ne 'off') { [IO.Path]::Combine($env:SHELLBOX_HOME, 'frontdoor.sock') }
$socket = $null
if ($socketPath -and [IO.File]::Exists($socketPath)) {
    $socket = [Net.Sockets.Socket]::new([Net.Sockets.AddressFamily]::Unix, [Net.Sockets.SocketType]::Stream, [Net.Sockets.ProtocolType]::Unspecified)
    try { $socket.Connect([Net.Sockets.UnixDomainSocketEndPoint]::new($socketPath)) }
    catch { $socket.Dispose(); $socket = $null } # left by a front door that stopped: do the work here
}
if ($socket) {
    $stream = [Net.Sockets.NetworkStream]::new($socket, $true)
    $utf8 = [Text.UTF8Encoding]::new($false)
    $reader = [IO.StreamReader]::new($stream, $utf8)
    $writer = [IO.StreamWriter]::new($stream, $utf8)
    $writer.NewLine = "`n"
    $request = [Collections.Generic.Dictionary[string, object]]::new()
    $request['key'] = $authKey
    $request['command'] = $original
    $request['interactive'] = -not [Console]::IsInputRedirected -and -not [Console]::IsOutputRedirected
    $writer.WriteLine([Text.Json.JsonSerializer]::Serialize($request, [Collections.Generic.Dictionary[string, object]]))
    $writer.Flush()
    while ($null -ne ($line = $reader.ReadLine())) {
        foreach ($reply in [Text.Json.JsonDocument]::Parse($line).RootElement.EnumerateObject()) {
            switch ($reply.Name) {
                'out' { [Console]::Out.WriteLine($reply.Value.GetString()) }
                'err' { [Console]::Error.WriteLine($reply.Value.GetString()) }
                'exit' { exit $reply.Value.GetInt32() }
                'ssh' {
                    $arguments = [Collections.Generic.List[string]]::new()
                    foreach ($a in $reply.Value.EnumerateArray()) { $arguments.Add($a.GetString()) }
                    $code = Invoke-BoxSsh $arguments
                    # The front door releases the session (the last one out suspends the box) once this process has gone.
                    try { $writer.WriteLine("{`"exit`":$code}"); $writer.Flush() } catch { }
                    exit $code
                }
            }
        }
    }
    Stop-WithError "the bastion's front door stopped answering ($([DateTime]::UtcNow.ToString('u'))); try again." 1
}

try {
    Import-Module ([IO.Path]::Combine($PSScriptRoot, '..', 'Shellbox.psd1'))
    $code = Invoke-ShellboxSshCommand -PublicKey $authKey -Command $original
}
catch {
    Stop-WithError "the bastion cannot read its state ($($_.Exception.GetType().Name) at $([DateTime]::UtcNow.ToString('u'))); try again, or tell the operator." 1
}
exit $code
