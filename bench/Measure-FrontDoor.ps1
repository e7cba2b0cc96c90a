#Requires -Version 7.4
<#
.SYNOPSIS
    The front door end to end: `ssh HOST connect NAME true` through a real loopback sshd whose ForceCommand
    is the pwsh wrapper, split into the steps that make it up, each beside the one before.
.DESCRIPTION
    Three sshds on 127.0.0.1 share one configuration and differ only in their ForceCommand: `true` (sshd
    and the ssh client alone), the wrapper's own pwsh command line running an empty script (pwsh startup),
    and the wrapper itself (help, list, connect). The steps are sampled round robin, one of each per cycle,
    so the machine's noise falls on all of them alike. A pool reconcile before each cycle makes the ready
    pair the new box takes; the returning box is the same box again (linger 0: claim, attach, resume).
    Uses the state folder and module already set up by the caller (Invoke-ShellboxBench.ps1).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $Work,
    [Parameter(Mandatory)] [string] $State,
    [ValidateRange(1, 100)] [int] $Cycles = 10,
    # The dotnet tool's pwsh command line (IL only, no ReadyToRun code): its bare start is shown beside, not in the chain.
    [string] $ReferencePwsh
)

$ErrorActionPreference = 'Stop'

function Get-Percentile([double[]] $Values, [double] $P) {
    $sorted = @($Values | Sort-Object)
    $sorted[[Math]::Min($sorted.Count - 1, [int][Math]::Ceiling($P / 100 * $sorted.Count) - 1)]
}

# Another sshd from the wrapper's configuration: same keys, users and environment, its own port and ForceCommand.
function Start-VariantSshd($Sshd, [string] $Name, [scriptblock] $ForceCommand) {
    $lines = Get-Content (Join-Path $Sshd.Work 'sshd_config')
    $port = $Sshd.Port + 1 + @($script:variants).Count
    $config = Join-Path $Sshd.Work "sshd_config.$Name"
    $lines | ForEach-Object {
        switch -Regex ($_) {
            '^Port ' { "Port $port" }
            '^PidFile ' { "PidFile $($Sshd.Work)/sshd.$Name.pid" }
            '^ForceCommand (.*)$' { "ForceCommand $(& $ForceCommand $Matches[1])" }
            default { $_ }
        }
    } | Set-Content $config
    & /usr/sbin/sshd -t -f $config
    if ($LASTEXITCODE -ne 0) { throw "sshd refused $config." }
    $process = Start-Process /usr/sbin/sshd -ArgumentList '-D', '-e', '-f', $config -PassThru -RedirectStandardError (Join-Path $Sshd.Work "sshd.$Name.log")
    $variant = [pscustomobject]@{ Work = $Sshd.Work; Port = $port; User = $Sshd.User; Process = $process }
    $script:variants += , $variant
    $deadline = (Get-Date).AddSeconds(10)
    while ((Invoke-ShellboxSsh $variant alice '').ExitCode -ne 0) {
        if ((Get-Date) -gt $deadline -or $process.HasExited) { throw "sshd ($Name) did not start; see $($Sshd.Work)/sshd.$Name.log." }
        Start-Sleep -Milliseconds 100
    }
    $variant
}

function Measure-Ssh($Sshd, [string] $Command) {
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $r = Invoke-ShellboxSsh $Sshd alice $Command
    $ms = $clock.Elapsed.TotalMilliseconds
    if ($r.ExitCode -ne 0) { throw "ssh '$Command' failed ($($r.ExitCode)): $($r.Output)" }
    $ms
}

$script:variants = @()
# The wrapper's environment as module/ssh/sshd_config.example sets it.
$sshd = Start-ShellboxSshd -Work $Work -State $State -ModulePath $ModulePath -Users @('alice') -Environment @{ POWERSHELL_TELEMETRY_OPTOUT = '1' }
try {
    $empty = Join-Path $Work 'empty.ps1'
    Set-Content $empty '# pwsh startup alone: the wrapper''s command line with nothing to run'
    $trueSshd = Start-VariantSshd $sshd 'true' { param($wrapperCommand) '/bin/true' }
    $bare = Start-VariantSshd $sshd 'bare' { param($wrapperCommand) $wrapperCommand -replace '-File \S+$', "-File $empty" }
    $reference = if ($ReferencePwsh) { Start-VariantSshd $sshd 'reference' { param($wrapperCommand) "$ReferencePwsh -NoProfile -NonInteractive -File $empty" } }
    $referenceName = '  beside: bare pwsh, dotnet tool (IL only)'

    $steps = [ordered]@{
        'ForceCommand true (sshd + ssh client)' = @()
        'bare pwsh (the wrapper''s command line)' = @()
        'wrapper help' = @()
        'wrapper list (module import + store read)' = @()
        'connect NAME true, new box (ready pair)' = @()
        'connect NAME true, returning box' = @()
    }
    $names = @($steps.Keys)
    if ($reference) { $steps.Insert(2, $referenceName, @()) }
    # One untimed round first: the files sshd, pwsh and the module read come from the page cache from then on.
    Invoke-ShellboxPoolReconcile | Out-Null; Invoke-ShellboxPoolReconcile | Out-Null
    Measure-Ssh $trueSshd '' | Out-Null; Measure-Ssh $bare '' | Out-Null; Measure-Ssh $sshd 'help' | Out-Null
    Measure-Ssh $sshd 'list' | Out-Null; Measure-Ssh $sshd 'connect warmup true' | Out-Null
    for ($i = 1; $i -le $Cycles; $i++) {
        Invoke-ShellboxPoolReconcile | Out-Null; Invoke-ShellboxPoolReconcile | Out-Null
        $steps[$names[0]] += Measure-Ssh $trueSshd ''
        $steps[$names[1]] += Measure-Ssh $bare ''
        if ($reference) { $steps[$referenceName] += Measure-Ssh $reference '' }
        $steps[$names[2]] += Measure-Ssh $sshd 'help'
        $steps[$names[3]] += Measure-Ssh $sshd 'list'
        $steps[$names[4]] += Measure-Ssh $sshd "connect fd$i true"
        $steps[$names[5]] += Measure-Ssh $sshd "connect fd$i true"
    }

    '{0,-44} {1,8} {2,8} {3,16}' -f "step (n=$Cycles)", 'p50 ms', 'p95 ms', 'p50 vs above'
    $previous = $null
    foreach ($name in @($steps.Keys)) {
        $p50 = Get-Percentile $steps[$name] 50
        $p95 = Get-Percentile $steps[$name] 95
        $delta = if ($null -eq $previous -or $name -eq $referenceName) { '' } else { '{0:+0;-0} ms' -f ($p50 - $previous) }
        '{0,-44} {1,8:0} {2,8:0} {3,16}' -f $name, $p50, $p95, $delta
        # The returning box is set beside the wrapper's list, like the new box: both are a connect after the import.
        if ($name -notlike 'connect*' -and $name -ne $referenceName) { $previous = $p50 }
    }
}
finally {
    foreach ($v in $script:variants) { Stop-ShellboxSshd $v }
    Stop-ShellboxSshd $sshd
}
