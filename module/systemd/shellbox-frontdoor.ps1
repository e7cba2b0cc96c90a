#Requires -Version 7.4
<#
.SYNOPSIS
    What shellbox-frontdoor.service runs: the bastion's front door, one line per request for the journal.
.DESCRIPTION
    The state folder comes from the environment (SHELLBOX_HOME: the unit's EnvironmentFile, the same folder as the ssh
    wrapper's SetEnv). SIGTERM (systemctl stop) stops it listening, drains the open sessions and ends the process.
#>
param(
    # How long a stop waits for open sessions; default 5 minutes.
    [TimeSpan] $DrainTimeout
)

$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText' # the journal shows escape codes as they are
Import-Module (Join-Path $PSScriptRoot '../Shellbox.psd1')
$door = @{}
if ($PSBoundParameters.ContainsKey('DrainTimeout')) { $door.DrainTimeout = $DrainTimeout }
Start-ShellboxFrontDoor @door -Verbose 4>&1 | ForEach-Object { "$_" }
