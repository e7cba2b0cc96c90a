#Requires -Version 7.4
<#
.SYNOPSIS
    Benchmarks (figures, not pass/fail): box runtime cycles, the connect breakdown per path,
    end-to-end `ssh HOST connect NAME true` through a real sshd, the pool stores' claim latency with
    few and many boxes (SQLite, Azurite), and seed 003's Azure connect flow against ours.
.DESCRIPTION
    Everything runs in a temp folder and is removed afterwards. -Cycles sets the samples per figure
    (at least 10 for the published numbers).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [ValidateRange(1, 100)] [int] $Cycles = 10,
    [switch] $SkipRuntime,
    # Only the store and Azure figures (no QEMU).
    [switch] $AzureOnly,
    # Only the front door: `ssh HOST connect NAME true` end to end and the steps it is made of.
    [switch] $FrontDoorOnly,
    # Another pwsh command line whose bare start the front door figures show for comparison (build.ps1 passes the dotnet tool's).
    [string] $ReferencePwsh
)

$ErrorActionPreference = 'Stop'
$root = Split-Path $PSScriptRoot
Import-Module (Join-Path $root 'tests/pester/SshFixture.psm1') -Force
Import-Module (Join-Path $root 'tests/pester/TestHelpers.psm1') -Force
Import-Module $ModulePath -Force

function Get-Percentile([double[]] $Values, [double] $P) {
    $sorted = $Values | Sort-Object
    $sorted[[Math]::Min($sorted.Count - 1, [int][Math]::Ceiling($P / 100 * $sorted.Count) - 1)]
}

function Write-Figure([string] $Name, [double[]] $Ms) {
    '{0,-46} n={1,-3} p50 {2,7:0} ms   p95 {3,7:0} ms' -f $Name, $Ms.Count, (Get-Percentile $Ms 50), (Get-Percentile $Ms 95)
}

if (-not $FrontDoorOnly) {
    Write-Host '== pool store: connect-claim latency with few and many boxes (SQLite, Table Storage on Azurite)'
    & dotnet run --project (Join-Path $PSScriptRoot 'StoreBench') -c Release
    Write-Host "== Azure: seed 003's connect flow against Shellbox's on the ARM emulator (seed latencies / 100)"
    & dotnet run --project (Join-Path $PSScriptRoot 'AzureBench') -c Release -- --cycles $Cycles
}
if ($AzureOnly) { return }

if (-not $SkipRuntime -and -not $FrontDoorOnly -and (Test-Path (Join-Path $PSScriptRoot 'LocalBench'))) {
    Write-Host '== box runtime (volume create, resume to SSH, suspend, RSS per box)'
    & dotnet run --project (Join-Path $PSScriptRoot 'LocalBench') -c Release -- --cycles $Cycles
}

$work = New-TestStateDirectory 'shellbox-bench'
$state = Join-Path $work 'state'
New-Item -ItemType Directory $state | Out-Null
# Two ready pairs per cycle: the front door figures take a new box with the module per login and one through the front door.
# Three free instances make them: the planner keeps half the minimum (one) bare for a returning box, and pairs the rest.
$config = @{ pool = 'Dev'; poolBounds = @{ minFreeInstances = 3; maxFreeInstances = 3; maxTotalInstances = 4; minFreeVolumes = 2; maxFreeVolumes = 4; maxTotalVolumes = 4 * $Cycles + 8 }
             lingerSeconds = 0; local = @{ maxSlots = 4; basePort = (Get-Random -Minimum 30000 -Maximum 32700) } }
function Set-Linger([int] $Seconds) { $config.lingerSeconds = $Seconds; $config | ConvertTo-Json -Depth 4 | Set-Content (Join-Path $state 'shellbox.json') }
Set-Linger 0
$PSDefaultParameterValues['*-Shellbox*:StateDirectory'] = $state
$PSDefaultParameterValues['*-Shellbox*:Confirm'] = $false
try {
    New-ShellboxGoldenSnapshot | Out-Null
    function Fill { Invoke-ShellboxPoolReconcile | Out-Null; Invoke-ShellboxPoolReconcile | Out-Null }

    if (-not $FrontDoorOnly) {
        Write-Host "== connect breakdown (Connect-ShellboxBox -PassThru, in process)"
        $samples = @{ 'new-from-ready-pair' = @(); 'returning' = @(); 'lingering' = @() }
        for ($i = 1; $i -le $Cycles; $i++) {
            Fill
            $c = Connect-ShellboxBox "bench$i" -PassThru; $c | Disconnect-ShellboxBox; $samples[$c.Path] += , $c
            $c = Connect-ShellboxBox "bench$i" -PassThru; $c | Disconnect-ShellboxBox; $samples[$c.Path] += , $c
        }
        Set-Linger 600
        for ($i = 1; $i -le $Cycles; $i++) {
            $c = Connect-ShellboxBox "bench1" -PassThru; $c | Disconnect-ShellboxBox; $samples[$c.Path] += , $c
        }
        Set-Linger 0
        foreach ($path in 'new-from-ready-pair', 'returning', 'lingering') {
            $set = @($samples[$path])
            if ($set.Count -eq 0) { "{0,-46} no samples" -f $path; continue }
            Write-Figure "$path total" ($set | ForEach-Object TotalMilliseconds)
            foreach ($step in 'claim', 'claim-loose', 'attach', 'resume') {
                $ms = @($set | Where-Object { $_.Steps.ContainsKey($step) } | ForEach-Object { $_.Steps[$step] })
                if ($ms.Count) { Write-Figure "  $step" $ms }
            }
        }
    }

    Write-Host "== front door: ssh -p PORT 127.0.0.1 connect NAME true end to end (real sshd, pwsh wrapper, ssh to the box), step by step"
    Get-ShellboxBox -AllUsers | ForEach-Object { Remove-ShellboxBox -UserId $_.UserId -Name $_.Name -Force }
    & (Join-Path $PSScriptRoot 'Measure-FrontDoor.ps1') -ModulePath $ModulePath -Work $work -State $state -Cycles $Cycles -ReferencePwsh $ReferencePwsh
}
finally {
    try { Get-ShellboxBox -AllUsers | ForEach-Object { Remove-ShellboxBox -UserId $_.UserId -Name $_.Name -Force -ErrorAction Continue } } catch { }
    Get-ChildItem (Join-Path $state 'instances') -Filter qemu.pid -Recurse -ErrorAction Ignore | ForEach-Object { Stop-Process -Id ([int](Get-Content $_)) -ErrorAction Ignore }
    Remove-Item -Recurse -Force $work -ErrorAction Ignore
}
