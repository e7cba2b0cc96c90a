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
    info NAME [--json]         state, created, last used, disk used, keepalive, how its RAM state is kept
    whoami                     your user id
    help                       this list
#>
[CmdletBinding()]
param()

# Every login runs this: the front door's path loads one small assembly (not the module) and calls it twice; only
# when no front door answers is the module imported, to do the same work here.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
[void][Reflection.Assembly]::LoadFrom([IO.Path]::Combine($PSScriptRoot, '..', 'Shellbox.PowerShell.dll'))

# The public key the user authenticated with, as 'TYPE BASE64' (null: the one line is written).
$authKey = [Shellbox.PowerShell.FrontDoor.SshWrapper]::AuthKey($env:SSH_USER_AUTH)
if ($null -eq $authKey) { exit 3 }
$original = [string]$env:SSH_ORIGINAL_COMMAND

# The front door, on $SHELLBOX_HOME/frontdoor.sock. SHELLBOX_FRONTDOOR=off (sshd_config SetEnv) makes every login
# do the work in its own process, front door or not.
if ($env:SHELLBOX_HOME -and $env:SHELLBOX_FRONTDOOR -ne 'off') {
    $code = [Shellbox.PowerShell.FrontDoor.SshWrapper]::TryFrontDoor([IO.Path]::Combine($env:SHELLBOX_HOME, 'frontdoor.sock'), $authKey, $original)
    if ($null -ne $code) { exit $code }
}

try {
    Import-Module ([IO.Path]::Combine($PSScriptRoot, '..', 'Shellbox.psd1'))
    $code = Invoke-ShellboxSshCommand -PublicKey $authKey -Command $original
}
catch {
    [Console]::Error.WriteLine("shellbox: the bastion cannot read its state ($($_.Exception.GetType().Name) at $([DateTime]::UtcNow.ToString('u'))); try again, or tell the operator.")
    exit 1
}
exit $code
