#Requires -Version 7.4
<#
.SYNOPSIS
    The sshd ForceCommand of the Shellbox bastion: `ssh shellbox.dev connect dev33`.
.DESCRIPTION
    Reads SSH_ORIGINAL_COMMAND and the public key the user authenticated with (sshd `ExposeAuthInfo yes`
    puts it in the file named by SSH_USER_AUTH), from which the module derives the user id (the first 32
    hex digits of the SHA-256 of the key blob), validates everything strictly, and calls the Shellbox cmdlets.
    User text is never handed to a shell on the bastion: a command after `connect NAME` is passed as
    one argument to ssh and runs in the user's own box. Anything else gets one line and a non-zero exit.

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

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$usage = @'
usage: ssh HOST COMMAND
  connect NAME [COMMAND...]  connect to box NAME (created if new); with COMMAND, run it there
  spinup NAME                create box NAME without connecting
  remove NAME                delete box NAME, its files and its saved state, for good
  duplicate NAME NEW         copy box NAME (disk, RAM, running programs) into a new box NEW
  keepalive NAME DURATION    keep NAME running up to DURATION (30m, 2h) after you leave; off: suspend at once
  list [--json]              your boxes
  info NAME [--json]         state, created, last used, disk used, how its RAM state is kept
  whoami                     your user id
  help                       this text
  NAME: 1 to 32 characters: lower-case letters, digits and '-', starting with a letter
'@

function Stop-WithError([string] $Message, [int] $Code = 1) {
    [Console]::Error.WriteLine("shellbox: $Message")
    exit $Code
}

# The public key the user authenticated with, as 'TYPE BASE64'; the module derives the user id from it
# (Get-ShellboxUser -PublicKey: the first 32 hex digits of the SHA-256 of the key blob, in one place).
function Get-ShellboxAuthKey {
    $authFile = $env:SSH_USER_AUTH
    if (-not $authFile -or -not (Test-Path -LiteralPath $authFile)) {
        Stop-WithError 'the bastion is misconfigured: sshd must set ExposeAuthInfo yes.' 3
    }
    $line = Get-Content -LiteralPath $authFile | Where-Object { $_ -match '^publickey\s+\S+\s+[A-Za-z0-9+/=]+' } | Select-Object -First 1
    if (-not $line) { Stop-WithError 'Shellbox accepts public-key authentication only.' 3 }
    $fields = $line -split '\s+'
    return "$($fields[1]) $($fields[2])"
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

# One line and exit 2 unless VALUE is a box name; SHOW caps how much of a long value the line repeats.
function Assert-BoxName([string] $Value, [string] $Label = 'box name', [int] $Show = [int]::MaxValue) {
    if ($Value -cnotmatch $namePattern) {
        Stop-WithError "'$($Value.Substring(0, [Math]::Min($Show, $Value.Length)))' is not a valid ${Label}: 1 to 32 characters: lower-case letters, digits and '-', starting with a letter." 2
    }
}

# Every command of a key the operator blocked gets this one line and nothing else, so the block list is read
# (a point read of the store) before any verb is looked at.
$authKey = Get-ShellboxAuthKey
try {
    Import-Module (Join-Path $PSScriptRoot '..' 'Shellbox.psd1')
    $user = Get-ShellboxUser -PublicKey $authKey
}
catch {
    if ("$($_.FullyQualifiedErrorId)" -like '*PublicKeyInvalid*') { Stop-WithError 'the public key sshd reported cannot be read.' 3 }
    Stop-WithError "the bastion cannot read its state ($($_.Exception.GetType().Name) at $([DateTime]::UtcNow.ToString('u'))); try again, or tell the operator." 1
}
if ($user.Blocked) { Stop-WithError 'this key is blocked; contact the operator' 1 }
$userId = $user.UserId

switch -CaseSensitive ($verb) {
    '' { [Console]::Error.WriteLine($usage); exit 2 }
    'help' { if ($name) { Stop-WithError 'help takes no arguments.' 2 }; [Console]::Out.WriteLine($usage); exit 0 }
    'whoami' { if ($name) { Stop-WithError 'whoami takes no arguments.' 2 }; [Console]::Out.WriteLine($userId); exit 0 }
    'list' { if (($name -and $name -cne '--json') -or $rest) { Stop-WithError 'list takes no arguments but --json.' 2 } }
    'remove' {
        Assert-BoxName $name
        if ($rest) { Stop-WithError 'remove takes one box name.' 2 }
    }
    'duplicate' {
        Assert-BoxName $name
        if (-not $rest) { Stop-WithError 'duplicate takes a box name and the name of the copy: duplicate NAME NEW.' 2 }
        Assert-BoxName $rest 'name for the copy' 40
    }
    'keepalive' {
        Assert-BoxName $name
        if ($rest -cnotmatch '^(off|[0-9dhms]{1,24})$') { Stop-WithError 'keepalive takes a box name and a duration such as 30m, 2h or 1h30m, or off.' 2 }
    }
    'info' {
        Assert-BoxName $name
        if ($rest -and $rest -cne '--json') { Stop-WithError 'info takes one box name and --json.' 2 }
    }
    'spinup' {
        Assert-BoxName $name
        if ($rest) { Stop-WithError 'spinup takes one box name.' 2 }
    }
    'connect' {
        Assert-BoxName $name
    }
    default { Stop-WithError "unknown command '$($verb.Substring(0, [Math]::Min(32, $verb.Length)))'; try: ssh HOST help" 2 }
}

function Format-Time([DateTimeOffset] $Time) { $Time.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [Globalization.CultureInfo]::InvariantCulture) }

try {
    switch ($verb) {
        'list' {
            $boxes = @(Get-ShellboxBox -UserId $userId)
            if ($name -ceq '--json') {
                $rows = @($boxes | ForEach-Object { [ordered]@{ name = $_.Name; state = $_.State; sessions = $_.Sessions; created = Format-Time $_.Created; lastUsed = Format-Time $_.LastUsed } })
                [Console]::Out.WriteLine((ConvertTo-Json -InputObject $rows -Compress -Depth 3))
                exit 0
            }
            foreach ($box in $boxes) {
                [Console]::Out.WriteLine(('{0,-32} {1,-10} {2} session(s)' -f $box.Name, $box.State, $box.Sessions))
            }
            exit 0
        }
        'info' {
            $box = Get-ShellboxBox -UserId $userId -Name $name -Detailed
            $disk = if ($null -eq $box.DiskUsedBytes) { 'unknown' } else { '{0:0.0} MiB' -f ($box.DiskUsedBytes / 1MB) }
            if ($rest -ceq '--json') {
                $info = [ordered]@{ name = $box.Name; state = $box.State; sessions = $box.Sessions; created = Format-Time $box.Created; lastUsed = Format-Time $box.LastUsed
                                    diskUsedBytes = $box.DiskUsedBytes; ramState = $box.RamState }
                [Console]::Out.WriteLine((ConvertTo-Json -InputObject $info -Compress -Depth 3))
                exit 0
            }
            [Console]::Out.WriteLine((@(
                "name:       $($box.Name)", "state:      $($box.State)", "sessions:   $($box.Sessions)",
                "created:    $(Format-Time $box.Created)", "last used:  $(Format-Time $box.LastUsed)", "disk used:  $disk",
                "RAM state:  $($box.RamState)") -join [Environment]::NewLine))
            exit 0
        }
        'duplicate' {
            $copy = Copy-ShellboxBox -UserId $userId -Name $name -NewName $rest -Confirm:$false
            [Console]::Out.WriteLine("duplicated box $name into $($copy.Name) (suspended; connect to it to resume)")
            exit 0
        }
        'keepalive' {
            $box = Set-ShellboxBoxKeepalive -UserId $userId -Name $name -Duration $rest -Confirm:$false
            $line = if ($box.Keepalive -ceq 'off') { "keepalive off: box $name is suspended when its last session leaves" }
                    else { "box $name keeps running up to $($box.Keepalive) after its last session leaves" }
            [Console]::Out.WriteLine($line)
            exit 0
        }
        'remove' {
            Remove-ShellboxBox -UserId $userId -Name $name -Force -Confirm:$false
            [Console]::Out.WriteLine("removed box $name")
            exit 0
        }
        'spinup' {
            # As for connect: the slow path's "making your box, about N s" becomes one line on stderr, as it is written.
            $box = New-ShellboxBox -UserId $userId -Name $name -Confirm:$false 3>&1 | ForEach-Object {
                if ($_ -is [System.Management.Automation.WarningRecord]) { [Console]::Error.WriteLine("shellbox: $($_.Message)") } else { $_ }
            }
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
