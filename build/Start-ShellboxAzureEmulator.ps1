#Requires -Version 7.4
<#
.SYNOPSIS
    Starts the loopback ARM emulator with Azurite beside it, and prints how to point Shellbox's Azure provider at them.
.DESCRIPTION
    The emulator models the Azure management plane (ARM Compute, Tags, Resource Graph, a managed-identity endpoint)
    for tests and demos only; Azurite is the real Table Storage emulator from npm. Both listen on 127.0.0.1 only.
    Prints the https base URL, the certificate (PEM), the subscription and resource group, the Azurite table
    endpoint, and a shellbox.json written into -StateDirectory. Runs until Ctrl+C, then stops both; with -PassThru it
    returns an object describing them instead (stop it with Stop-ShellboxAzureEmulator from the same file).
.EXAMPLE
    dotnet pwsh -NoProfile -File ./build.ps1 Emulator
#>
[CmdletBinding()]
param(
    # Where shellbox.json, the certificate bundle, the emulator's disks and logs go; a new temp folder by default.
    [string] $StateDirectory,
    # The emulator's https port on 127.0.0.1; 0 picks a free one.
    [ValidateRange(0, 65535)]
    [int] $Port = 0,
    [ValidateSet('none', 'seed-scaled')]
    [string] $Latency = 'none',
    # Run a real sshd + agent per emulated VM (boxes can connect), instead of modelling ARM only.
    [switch] $VmHosts,
    # Print every ARM request the emulator answers.
    [switch] $RequestLog,
    [switch] $PassThru
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot 'AzureEmulator.ps1')

$emulator = Start-ShellboxAzureEmulator -StateDirectory $StateDirectory -Port $Port -Latency $Latency -VmHosts:$VmHosts -RequestLog:$RequestLog
if ($PassThru) { return $emulator }

try {
    Write-Host "ARM emulator (models Azure for tests and demos only):"
    Write-Host "  base url:          $($emulator.BaseUri)"
    Write-Host "  certificate (PEM): $($emulator.CertificatePem)   (child processes trust it: SSL_CERT_FILE=$($emulator.CertificateBundle))"
    Write-Host "  subscription:      $($emulator.SubscriptionId)"
    Write-Host "  resource group:    $($emulator.ResourceGroup)"
    Write-Host "  identity endpoint: $($emulator.IdentityEndpoint)"
    Write-Host "Azurite table endpoint: $($emulator.TableEndpoint)"
    Write-Host "shellbox.json:       $($emulator.ConfigFile)"
    Get-Content $emulator.ConfigFile | ForEach-Object { Write-Host "  $_" }
    Write-Host 'Use it from pwsh:'
    foreach ($pair in $emulator.Environment.GetEnumerator()) { Write-Host "  `$env:$($pair.Key) = '$($pair.Value)'" }
    Write-Host 'Running; press Ctrl+C to stop.'
    $shown = 0
    while (-not $emulator.Emulator.HasExited) {
        Start-Sleep -Milliseconds 500
        if ($RequestLog) {
            # The emulator logs each request as "HH:mm:ss.fff METHOD STATUS DURATION PATH api-version=..."
            $requests = @(Get-Content $emulator.RequestLog -ErrorAction Ignore | Where-Object { $_ -match '^\d\d:\d\d:\d\d\.\d{3} ' })
            $requests | Select-Object -Skip $shown | ForEach-Object { Write-Host "  $_" }
            $shown = $requests.Count
        }
    }
    Write-Warning "the emulator exited with code $($emulator.Emulator.ExitCode); see $($emulator.RequestLog)."
}
finally {
    Stop-ShellboxAzureEmulator $emulator
    Write-Host 'stopped the ARM emulator and Azurite.'
}
