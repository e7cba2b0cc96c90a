#Requires -Version 7.4
<#
.SYNOPSIS
    The Azure Automation runbook of Shellbox: reconciles the pools every CheckInterval for about 55 minutes, then exits.
.DESCRIPTION
    For the PowerShell 7.4 runtime with a managed identity, on an hourly schedule (Automation schedules run at most
    hourly and stop a job after 3 hours). Each pass is one Invoke-ShellboxPoolReconcile; the runbook writes one summary
    line per pass and one at the end. One reconciler at a time: a pass that finds another (an overlapping job, a
    bastion's loop) holding the store lock does nothing and says so on its line; that is not an error.

    Settings, each a parameter or else an Automation variable of the same name (Get-AutomationVariable):
      ShellboxStateDirectory  where shellbox.json is written and read; default $env:SHELLBOX_HOME, else <temp>/shellbox
      ShellboxProvider        Local or Azure (SHELLBOX_PROVIDER); default: shellbox.json's provider, else Local
      ShellboxSettings        the text of shellbox.json (provider, pool, azure section); written to the state folder
      ShellboxTableConnectionString  (encrypted; variable only) a Table Storage connection string instead of the identity
    In Automation (IDENTITY_ENDPOINT set) the Azure provider signs in with the account's managed identity unless the
    settings name another credential.
.EXAMPLE
    ./Invoke-ShellboxReconcileRunbook.ps1 -StateDirectory /var/lib/shellbox -Duration 00:10:00
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [string] $StateDirectory,
    [ValidateSet('', 'Local', 'Azure')]
    [string] $Provider,
    [string] $Settings,
    # How long the job reconciles: no pass starts whose wait would end after this.
    [TimeSpan] $Duration = '00:55:00',
    # The wait between passes; default: the pool's CheckInterval.
    [TimeSpan] $Interval,
    # The module to load when it is not imported into the account (running the runbook by hand).
    [string] $ModulePath = 'Shellbox'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$PSStyle.OutputRendering = 'PlainText' # job output shows escape codes as they are

# A parameter, else the Automation variable of that name (only defined inside an Automation job).
function Get-Setting([string] $Value, [string] $VariableName) {
    if ($Value) { return $Value }
    if (Get-Command Get-AutomationVariable -ErrorAction Ignore) {
        try { return [string](Get-AutomationVariable -Name $VariableName) } catch { Write-Verbose "no Automation variable $VariableName" }
    }
    return $null
}

$StateDirectory = Get-Setting $StateDirectory 'ShellboxStateDirectory'
if (-not $StateDirectory) { $StateDirectory = $env:SHELLBOX_HOME }
if (-not $StateDirectory) { $StateDirectory = Join-Path ([IO.Path]::GetTempPath()) 'shellbox' }
$Provider = Get-Setting $Provider 'ShellboxProvider'
$Settings = Get-Setting $Settings 'ShellboxSettings'

if ($Settings) {
    # Validate before writing: a bad variable is one clear line, and an operator's file is never replaced by junk.
    $parsed = $Settings | ConvertFrom-Json -ErrorAction Stop
    New-Item -ItemType Directory -Force $StateDirectory | Out-Null
    Set-Content -LiteralPath (Join-Path $StateDirectory 'shellbox.json') -Value $Settings -WhatIf:$false
    $credential = if ($parsed.PSObject.Properties['azure'] -and $parsed.azure.PSObject.Properties['credential']) { $parsed.azure.credential }
}
else { $credential = $null }
if ($Provider) { $env:SHELLBOX_PROVIDER = $Provider }
# A secret: only ever from an encrypted variable into the environment, never into shellbox.json or a line of output.
if (-not $env:SHELLBOX_TABLE_CONNECTION_STRING -and ($tableSecret = Get-Setting $null 'ShellboxTableConnectionString')) {
    $env:SHELLBOX_TABLE_CONNECTION_STRING = $tableSecret
}
$inAutomation = [bool]$env:IDENTITY_ENDPOINT -or "$env:AZUREPS_HOST_ENVIRONMENT" -like 'AzureAutomation*'
if ($inAutomation -and -not $credential -and -not $env:SHELLBOX_AZURE_CREDENTIAL) { $env:SHELLBOX_AZURE_CREDENTIAL = 'ManagedIdentity' }

if (-not (Get-Module Shellbox)) { Import-Module $ModulePath -ErrorAction Stop }

$started = Get-Date
# -WhatIf plans every pass and writes nothing; -Confirm (a run by hand) asks before each action.
$reconcile = @{ StateDirectory = $StateDirectory; Continuous = $true; Duration = $Duration; WhatIf = [bool]$WhatIfPreference; Confirm = [bool]$PSBoundParameters['Confirm'] }
if ($PSBoundParameters.ContainsKey('Interval')) { $reconcile.Interval = $Interval }
Write-Output "shellbox runbook: reconciling '$StateDirectory' for $Duration (provider $(if ($env:SHELLBOX_PROVIDER) { $env:SHELLBOX_PROVIDER } else { 'from settings' }))"

$passes = 0; $skipped = 0; $ok = 0; $failed = 0
# A failed action or pass is written to the error stream by the cmdlet and the loop goes on: keep going here too.
Invoke-ShellboxPoolReconcile @reconcile -ErrorAction Continue | ForEach-Object {
    $passes++
    if ($_.Skipped) { $skipped++ }
    $ok += $_.Succeeded; $failed += $_.Failed
    Write-Output ("pass {0} at {1:HH:mm:ss}Z: {2}" -f $passes, [DateTime]::UtcNow, $_)
}
Write-Output ("shellbox runbook: done, {0} passes ({1} skipped: lock held elsewhere), {2} actions ok, {3} failed, in {4:mm\:ss}" -f $passes, $skipped, $ok, $failed, ((Get-Date) - $started))
