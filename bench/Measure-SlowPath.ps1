#Requires -Version 7.4
<#
.SYNOPSIS
    The connect's slow path on the Local provider: how long a new box takes when the pool has nothing ready.
.DESCRIPTION
    A fresh state folder whose pool keeps nothing warm (min free 0), its golden built, then -Runs new boxes in a
    row through Connect-ShellboxBox -Command true in this session. The first run makes an instance and a volume;
    each later one holds the instance the run before freed and makes a volume. Prints each run's connect trace
    and the p50 of the slow-path times the engine itself recorded (events of kind slow-path: what the next user's
    "making your box, about N s" is taken from). Removes its boxes and state folder at the end.
.EXAMPLE
    dotnet pwsh -NoProfile -File bench/Measure-SlowPath.ps1 -Runs 5 -Guest debian
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/Shellbox/Shellbox.psd1'),
    [ValidateRange(1, 50)] [int] $Runs = 5,
    [ValidateSet('debian', 'minimal')] [string] $Guest = 'debian'
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../tests/pester/TestHelpers.psm1') -Force
$state = Join-Path ([IO.Path]::GetTempPath()) "shellbox-slowpath-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
New-Item -ItemType Directory $state | Out-Null
@{ pool = 'Dev'
   poolBounds = @{ minFreeInstances = 0; maxFreeInstances = 10; maxTotalInstances = 10; minFreeVolumes = 0; maxFreeVolumes = 10; maxTotalVolumes = 60; checkIntervalSeconds = 30 }
   local = @{ guest = $Guest; maxSlots = 10; basePort = (Get-Random -Minimum 35000 -Maximum 36000) } } |
    ConvertTo-Json | Set-Content (Join-Path $state 'shellbox.json')

# The goldens and control key of the xunit run, linked in when there (a Debian golden takes minutes to build).
Add-CachedGolden $state
Import-Module $ModulePath -Force
try {
    New-ShellboxGoldenSnapshot -StateDirectory $state | Out-Null
    foreach ($i in 1..$Runs) {
        $lines = @(Connect-ShellboxBox -StateDirectory $state -Name "slow$i" -Command true -Verbose 4>&1 3>&1 | ForEach-Object { "$_" })
        $trace = $lines | Where-Object { $_ -like 'connect correlation=*' } | Select-Object -First 1
        $told = $lines | Where-Object { $_ -like 'making your box*' } | Select-Object -First 1
        Write-Host "run $i  told: '$told'  $trace"
    }

    $seconds = @(Get-ShellboxEvent -StateDirectory $state -Kind slow-path | ForEach-Object { [double]([regex]::Match($_.Message, 'seconds=([0-9.]+)').Groups[1].Value) } | Sort-Object)
    Write-Host ("slow path, Local ($Guest guest): p50 {0:0.0} s over {1} runs (min {2:0.0} s, max {3:0.0} s)" -f $seconds[[int][Math]::Floor(($seconds.Count - 1) / 2)], $seconds.Count, $seconds[0], $seconds[-1])
}
finally {
    Get-ShellboxBox -StateDirectory $state -AllUsers | Remove-ShellboxBox -StateDirectory $state -Force -Confirm:$false -ErrorAction Continue
    Remove-Item -Recurse -Force $state -ErrorAction Continue
}
