#Requires -Version 7.4
<#
.SYNOPSIS
    What shellbox-reconcile.service runs: the reconcile loop, one line per pass for the journal.
.DESCRIPTION
    The state folder and the provider come from the environment (SHELLBOX_HOME, SHELLBOX_PROVIDER, ...: the unit's
    EnvironmentFile). A failed pass is an error line and the loop goes on; settings that cannot be used end the
    process, and systemd starts it again. SIGTERM (systemctl stop) ends the loop cleanly.
#>
param(
    # The wait between passes; default: the pool's CheckInterval.
    [TimeSpan] $Interval
)

$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText' # the journal shows escape codes as they are
Import-Module (Join-Path $PSScriptRoot '../Shellbox.psd1')
$loop = @{ Continuous = $true; Confirm = $false }
if ($PSBoundParameters.ContainsKey('Interval')) { $loop.Interval = $Interval }
Invoke-ShellboxPoolReconcile @loop -ErrorAction Continue | ForEach-Object { "$_" }
