#Requires -Version 7.4
<#
.SYNOPSIS
    The sshd ForceCommand of the Shellbox bastion: `ssh shellbox.dev connect dev33`.
.DESCRIPTION
    Reads SSH_ORIGINAL_COMMAND, derives the user id from the public key the user authenticated with
    (sshd `ExposeAuthInfo yes` puts it in the file named by SSH_USER_AUTH: the first 32 hex digits of
    the SHA-256 of the key blob), validates everything strictly, and calls the Shellbox cmdlets.
    User text is never handed to a shell on the bastion: a command after `connect NAME` is passed as
    one argument to ssh and runs in the user's own box. Anything else gets one line and a non-zero exit.

    connect NAME [COMMAND...]  connect to box NAME (created if new); with COMMAND, run it there
    spinup NAME                create box NAME without connecting
    list                       your boxes
    whoami                     your user id
    help                       this list
#>
[CmdletBinding()]
param()

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$usage = @'
usage: ssh HOST connect NAME [COMMAND...] | spinup NAME | list | whoami | help
  NAME: 1 to 32 characters: lower-case letters, digits and '-', starting with a letter
'@

function Stop-WithError([string] $Message, [int] $Code = 1) {
    [Console]::Error.WriteLine("shellbox: $Message")
    exit $Code
}

function Get-ShellboxUserId {
    $authFile = $env:SSH_USER_AUTH
    if (-not $authFile -or -not (Test-Path -LiteralPath $authFile)) {
        Stop-WithError 'the bastion is misconfigured: sshd must set ExposeAuthInfo yes.' 3
    }
    $line = Get-Content -LiteralPath $authFile | Where-Object { $_ -match '^publickey\s+\S+\s+[A-Za-z0-9+/=]+' } | Select-Object -First 1
    if (-not $line) { Stop-WithError 'Shellbox accepts public-key authentication only.' 3 }
    try { $blob = [Convert]::FromBase64String(($line -split '\s+')[2]) }
    catch { Stop-WithError 'the public key sshd reported cannot be read.' 3 }
    $hash = [System.Security.Cryptography.SHA256]::HashData($blob)
    return [Convert]::ToHexString($hash).Substring(0, 32).ToLowerInvariant()
}

$original = [string]$env:SSH_ORIGINAL_COMMAND
if ($original.Length -gt 4096) { Stop-WithError 'the command is too long (at most 4096 characters).' 2 }
if ($original -match '[\x00-\x08\x0a-\x1f\x7f]') { Stop-WithError 'the command contains control characters.' 2 }

# verb, name, and (for connect) the rest of the line verbatim as the in-box command
$match = [regex]::Match($original, '^\s*(?<verb>\S+)(?:\s+(?<name>\S+))?(?:\s+(?<rest>.*\S))?\s*$')
$verb = if ($match.Success) { $match.Groups['verb'].Value } else { '' }
$name = $match.Groups['name'].Value
$rest = $match.Groups['rest'].Value
$namePattern = '^[a-z][a-z0-9-]{0,31}$'

switch -CaseSensitive ($verb) {
    '' { [Console]::Error.WriteLine($usage); exit 2 }
    'help' { if ($name) { Stop-WithError 'help takes no arguments.' 2 }; [Console]::Out.WriteLine($usage); exit 0 }
    'whoami' { if ($name) { Stop-WithError 'whoami takes no arguments.' 2 }; [Console]::Out.WriteLine((Get-ShellboxUserId)); exit 0 }
    'list' { if ($name) { Stop-WithError 'list takes no arguments.' 2 } }
    'spinup' {
        if ($name -cnotmatch $namePattern) { Stop-WithError "'$name' is not a valid box name: 1 to 32 characters: lower-case letters, digits and '-', starting with a letter." 2 }
        if ($rest) { Stop-WithError 'spinup takes one box name.' 2 }
    }
    'connect' {
        if ($name -cnotmatch $namePattern) { Stop-WithError "'$name' is not a valid box name: 1 to 32 characters: lower-case letters, digits and '-', starting with a letter." 2 }
    }
    default { Stop-WithError "unknown command '$($verb.Substring(0, [Math]::Min(32, $verb.Length)))'; try: ssh HOST help" 2 }
}

$userId = Get-ShellboxUserId
try {
    Import-Module (Join-Path $PSScriptRoot '..' 'Shellbox.psd1')
    switch ($verb) {
        'list' {
            foreach ($box in @(Get-ShellboxBox -UserId $userId)) {
                [Console]::Out.WriteLine(('{0,-32} {1,-10} {2} session(s)' -f $box.Name, $box.State, $box.Sessions))
            }
            exit 0
        }
        'spinup' {
            $box = New-ShellboxBox -UserId $userId -Name $name -Confirm:$false
            [Console]::Out.WriteLine("created box $($box.Name)")
            exit 0
        }
        'connect' {
            # Warnings (the slow path's "making your box, about N s", a cold boot) become one line each on stderr,
            # as they are written: the box's stdout stays the command's alone.
            $connect = @{ UserId = $userId; Name = $name; Confirm = $false }
            if ($rest) { $connect.Command = $rest }
            Connect-ShellboxBox @connect 3>&1 | ForEach-Object {
                if ($_ -is [System.Management.Automation.WarningRecord]) { [Console]::Error.WriteLine("shellbox: $($_.Message)") }
            }
            exit $global:LASTEXITCODE
        }
    }
}
catch {
    # Only what the user can act on is shown as written (bad name, no such box, pool empty, box busy);
    # anything else may carry paths or other users' names: the user gets its id and the time, the
    # operator finds the details in Get-ShellboxEvent.
    $e = $_.Exception
    $kind = if ($e.PSObject.Properties['Kind']) { "$($e.Kind)" } else { '' }
    $id = if ($e.PSObject.Properties['ErrorId']) { "$($e.ErrorId)" } else { $e.GetType().Name }
    $message = if ($kind -in 'User', 'NotFound' -or $id -in 'PoolExhausted', 'AtCapacity', 'BoxBusy') { $e.Message }
               else { "the box could not be reached ($id at $([DateTime]::UtcNow.ToString('u'))); try again, or tell the operator." }
    $message = ($message -replace '\s+', ' ').Trim()
    if ($message.Length -gt 300) { $message = $message.Substring(0, 297) + '...' }
    Stop-WithError $message 1
}
