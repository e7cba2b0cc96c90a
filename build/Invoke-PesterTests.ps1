<#
.SYNOPSIS
    Runs the Pester tests against the built module in this (child) session and writes the counts as JSON.
#>
param(
    [Parameter(Mandatory)] [string] $PesterManifest,
    [Parameter(Mandatory)] [string] $TestsPath,
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $ResultPath,
    [string] $Filter
)

Import-Module $PesterManifest -Force
$config = New-PesterConfiguration
$config.Run.Path = $TestsPath
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
if ($Filter) { $config.Filter.FullName = "*$Filter*" }
$env:SHELLBOX_MODULE = $ModuleManifest
$run = Invoke-Pester -Configuration $config
@{ passed = $run.PassedCount; failed = $run.FailedCount + $run.FailedBlocksCount + $run.FailedContainersCount } |
    ConvertTo-Json | Set-Content $ResultPath
