#Requires -Version 7.4
<#
.SYNOPSIS
    The front door end to end: `ssh HOST connect NAME true` through a real loopback sshd whose ForceCommand
    is the pwsh wrapper, split into the steps that make it up, each beside the one before.
.DESCRIPTION
    sshds on 127.0.0.1 share one configuration and differ only in their ForceCommand or environment: `true`
    (sshd and the ssh client alone), the wrapper's own pwsh command line running an empty script (pwsh
    startup), the wrapper with the front door switched off (SHELLBOX_FRONTDOOR=off: it imports the module in
    every login), and the wrapper handing each login to the front door (Start-ShellboxFrontDoor, running in
    its own pwsh beside). The steps are sampled round robin, one of each per cycle, so the machine's noise
    falls on all of them alike. A pool reconcile before each cycle makes the ready pairs the new boxes take;
    the returning box is the same box again (linger 0: claim, attach, resume). Last, with lingerSeconds 30, one box per
    path reconnects within its linger (continued in place: its QEMU was kept stopped on the instance).
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
function Start-VariantSshd($Sshd, [string] $Name, [scriptblock] $ForceCommand, [string] $SetEnv) {
    $lines = Get-Content (Join-Path $Sshd.Work 'sshd_config')
    $port = $Sshd.Port + 1 + @($script:variants).Count
    $config = Join-Path $Sshd.Work "sshd_config.$Name"
    $lines | ForEach-Object {
        switch -Regex ($_) {
            '^Port ' { "Port $port" }
            '^PidFile ' { "PidFile $($Sshd.Work)/sshd.$Name.pid" }
            '^ForceCommand (.*)$' { "ForceCommand $(& $ForceCommand $Matches[1])" }
            '^SetEnv (.*)$' { "SetEnv $($Matches[1]) $SetEnv" }
            default { $_ }
        }
    } | Set-Content $config
    & /usr/sbin/sshd -t -f $config
    if ($LASTEXITCODE -ne 0) { throw "sshd refused $config." }
    $process = Start-Process /usr/sbin/sshd -ArgumentList '-D', '-e', '-f', $config -PassThru -RedirectStandardError (Join-Path $Sshd.Work "sshd.$Name.log")
    $variant = [pscustomobject]@{ Work = $Sshd.Work; Port = $port; User = $Sshd.User; Process = $process }
    $script:variants += , $variant
    $deadline = (Get-Date).AddSeconds(10)
    while ((Invoke-ShellboxSsh $variant alice 'help').ExitCode -ne 0) {
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

# The front door in its own pwsh, as systemd runs it; returns once it listens.
function Start-BenchFrontDoor {
    $pwsh = Get-PwshCommand
    $start = [Diagnostics.ProcessStartInfo]::new($pwsh[0])
    foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', "Import-Module '$ModulePath'; Start-ShellboxFrontDoor -StateDirectory '$State' -Verbose 4>&1 | ForEach-Object { [IO.File]::AppendAllText('$script:frontDoorLog', `"`$_`n`") }")) { $start.ArgumentList.Add($a) }
    $start.Environment['POWERSHELL_TELEMETRY_OPTOUT'] = '1'
    $process = [Diagnostics.Process]::Start($start)
    $deadline = (Get-Date).AddSeconds(60)
    while (-not (Test-Path (Join-Path $State 'frontdoor.sock'))) {
        if ($process.HasExited -or (Get-Date) -gt $deadline) { throw 'the front door did not start listening.' }
        Start-Sleep -Milliseconds 100
    }
    $process
}

function Wait-Suspended([string] $Name, [string] $State = 'suspended') {
    $deadline = (Get-Date).AddSeconds(30)
    while ((Get-ShellboxBox -AllUsers | Where-Object Name -eq $Name).State -ne $State) {
        if ((Get-Date) -gt $deadline) { throw "box $Name was not $State within 30 s." }
        Start-Sleep -Milliseconds 50
    }
}

# shellbox.json's lingerSeconds; the wrapper and the front door read the settings per request.
function Set-BenchLinger([int] $Seconds) {
    $file = Join-Path $State 'shellbox.json'
    $config = Get-Content $file -Raw | ConvertFrom-Json -AsHashtable
    $config.lingerSeconds = $Seconds
    $config | ConvertTo-Json -Depth 4 | Set-Content $file
}

# The QEMU process of the box forwarded at that port (its instance's slot.json names the port, qemu.pid the process).
function Get-BoxQemuId([int] $Port) {
    foreach ($slot in Get-ChildItem (Join-Path $State 'instances') -Filter slot.json -Recurse) {
        if ((Get-Content $slot -Raw | ConvertFrom-Json).Port -eq $Port) { return [int](Get-Content (Join-Path $slot.DirectoryName 'qemu.pid')) }
    }
    throw "no instance forwards port $Port."
}

# User plus system CPU time of a process so far, in ms (/proc/PID/stat fields 14 and 15, in clock ticks of 10 ms).
function Get-CpuMs([int] $ProcessId) {
    $fields = ((Get-Content "/proc/$ProcessId/stat" -Raw) -replace '^.*\) ', '') -split ' '
    ([long]$fields[11] + [long]$fields[12]) * 10
}

$script:variants = @()
$frontDoor = $null
$script:frontDoorLog = Join-Path $Work 'frontdoor.log'

# The front door's own account of its connects (its log line per connect: the path and each step's ms), p50 per path.
function Write-FrontDoorSteps {
    $connects = @(Get-Content $script:frontDoorLog -ErrorAction Ignore | Where-Object { $_ -match 'front door: connect correlation=\S+ path=(?<path>\S+) (?<steps>.*)$' } |
        ForEach-Object { $path = $Matches.path; $steps = [ordered]@{}; foreach ($m in [regex]::Matches($Matches.steps, '(\w+)=(\d+)')) { $steps[$m.Groups[1].Value] = [double]$m.Groups[2].Value }; [pscustomobject]@{ Path = $path; Steps = $steps } })
    foreach ($group in $connects | Group-Object Path) {
        $names = @($group.Group | ForEach-Object { $_.Steps.Keys } | Select-Object -Unique)
        '  front door''s own steps, {0} (n={1}), p50: {2}' -f $group.Name, $group.Count,
            (($names | ForEach-Object { $n = $_; '{0} {1:0}' -f $n, (Get-Percentile @($group.Group | Where-Object { $_.Steps.Contains($n) } | ForEach-Object { $_.Steps[$n] }) 50) }) -join ', ')
    }
    # A new box that found no ready pair is a slower path: the "new box (ready pair)" row would then mix the two.
    $other = @($connects | Where-Object Path -NotIn 'new-from-ready-pair', 'returning', 'lingering')
    if ($other) {
        Write-Warning ("{0} of the front door's {1} connects took another path ({2}): the rows above mix paths." -f $other.Count, $connects.Count, (($other.Path | Select-Object -Unique) -join ', '))
    }
}
# The wrapper's environment as module/ssh/sshd_config.example sets it.
$sshd = Start-ShellboxSshd -Work $Work -State $State -ModulePath $ModulePath -Users @('alice') -Environment @{ POWERSHELL_TELEMETRY_OPTOUT = '1' }
try {
    $empty = Join-Path $Work 'empty.ps1'
    Set-Content $empty '# pwsh startup alone: the wrapper''s command line with nothing to run'
    $trueSshd = Start-VariantSshd $sshd 'true' { param($wrapperCommand) '/bin/true' }
    $bare = Start-VariantSshd $sshd 'bare' { param($wrapperCommand) $wrapperCommand -replace '-File \S+$', "-File $empty" }
    $alone = Start-VariantSshd $sshd 'alone' { param($wrapperCommand) $wrapperCommand } 'SHELLBOX_FRONTDOOR=off'
    $reference = if ($ReferencePwsh) { Start-VariantSshd $sshd 'reference' { param($wrapperCommand) "$ReferencePwsh -NoProfile -NonInteractive -File $empty" } }
    $referenceName = '  beside: bare pwsh, dotnet tool (IL only)'

    $steps = [ordered]@{
        'ForceCommand true (sshd + ssh client)' = @()
        'bare pwsh (the wrapper''s command line)' = @()
        'wrapper help' = @()
        'wrapper list (module import + store read)' = @()
        'connect NAME true, new box (ready pair)' = @()
        'connect NAME true, returning box' = @()
        'front door: help' = @()
        'front door: list (store read)' = @()
        'front door: connect, new box (ready pair)' = @()
        'front door: connect, returning box' = @()
        'connect NAME true, lingering box' = @()
        'front door: connect, lingering box' = @()
    }
    $names = @($steps.Keys)
    if ($reference) { $steps.Insert(2, $referenceName, @()) }
    $frontDoor = Start-BenchFrontDoor
    # One untimed round first: the files sshd, pwsh and the module read come from the page cache from then on.
    Invoke-ShellboxPoolReconcile | Out-Null; Invoke-ShellboxPoolReconcile | Out-Null
    Measure-Ssh $trueSshd '' | Out-Null; Measure-Ssh $bare '' | Out-Null; Measure-Ssh $alone 'help' | Out-Null
    Measure-Ssh $alone 'list' | Out-Null; Measure-Ssh $alone 'connect warmup true' | Out-Null
    Measure-Ssh $sshd 'help' | Out-Null; Measure-Ssh $sshd 'connect warmup true' | Out-Null
    for ($i = 1; $i -le $Cycles; $i++) {
        # Two ready pairs for the two new boxes of the cycle; the pool's own reconcile is not part of any step.
        Invoke-ShellboxPoolReconcile | Out-Null; Invoke-ShellboxPoolReconcile | Out-Null
        $steps[$names[0]] += Measure-Ssh $trueSshd ''
        $steps[$names[1]] += Measure-Ssh $bare ''
        if ($reference) { $steps[$referenceName] += Measure-Ssh $reference '' }
        $steps[$names[2]] += Measure-Ssh $alone 'help'
        $steps[$names[3]] += Measure-Ssh $alone 'list'
        $steps[$names[4]] += Measure-Ssh $alone "connect fd$i true"
        $steps[$names[5]] += Measure-Ssh $alone "connect fd$i true"
        $steps[$names[6]] += Measure-Ssh $sshd 'help'
        $steps[$names[7]] += Measure-Ssh $sshd 'list'
        $steps[$names[8]] += Measure-Ssh $sshd "connect door$i true"
        # The front door suspends the box after the wrapper has gone: the returning box is measured once it has.
        Wait-Suspended "door$i"
        $steps[$names[9]] += Measure-Ssh $sshd "connect door$i true"
        Wait-Suspended "door$i"
    }

    # Then the same box again within lingerSeconds (30 s): saved on its volume at each disconnect, its QEMU kept stopped
    # on the instance, so the reconnect continues it in place. One box per path, reconnected once per cycle.
    Set-BenchLinger 30
    try {
        Invoke-ShellboxPoolReconcile | Out-Null; Invoke-ShellboxPoolReconcile | Out-Null
        Measure-Ssh $alone 'connect stay-alone true' | Out-Null; Wait-Suspended 'stay-alone' 'lingering'
        Measure-Ssh $sshd 'connect stay-door true' | Out-Null; Wait-Suspended 'stay-door' 'lingering'
        for ($i = 1; $i -le $Cycles; $i++) {
            $steps[$names[10]] += Measure-Ssh $alone 'connect stay-alone true'
            Wait-Suspended 'stay-alone' 'lingering'
            $steps[$names[11]] += Measure-Ssh $sshd 'connect stay-door true'
            Wait-Suspended 'stay-door' 'lingering'
        }
    }
    finally {
        Set-BenchLinger 0
    }

    # Where a returning box's time goes: the box's one emulated CPU. In process (Connect-ShellboxBox -PassThru), the box
    # resumed from its volume, then the user's ssh into it twice; QEMU's CPU time (/proc) beside each wall time.
    $cpu = [ordered]@{ 'resume from the volume (start, load, clock)' = @(); 'first ssh into it' = @(); 'second ssh into it' = @() }
    $cpuNames = @($cpu.Keys)
    Connect-ShellboxBox 'cpu-probe' -PassThru | Disconnect-ShellboxBox; Wait-Suspended 'cpu-probe'
    for ($i = 1; $i -le $Cycles; $i++) {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $c = Connect-ShellboxBox 'cpu-probe' -PassThru
        $resumeMs = $clock.Elapsed.TotalMilliseconds
        try {
            $qemu = Get-BoxQemuId $c.Port
            $cpu[$cpuNames[0]] += , @($resumeMs, (Get-CpuMs $qemu))
            foreach ($n in 1, 2) {
                $before = Get-CpuMs $qemu; $clock.Restart()
                & ssh @($c.SshArguments) true
                if ($LASTEXITCODE -ne 0) { throw "ssh into cpu-probe failed ($LASTEXITCODE)." }
                $cpu[$cpuNames[$n]] += , @($clock.Elapsed.TotalMilliseconds, ((Get-CpuMs $qemu) - $before))
            }
        }
        finally {
            $c | Disconnect-ShellboxBox
        }
        Wait-Suspended 'cpu-probe'
    }

    '{0,-44} {1,8} {2,8} {3,16}' -f "step (n=$Cycles)", 'p50 ms', 'p95 ms', 'p50 vs above'
    $previous = $null
    foreach ($name in @($steps.Keys)) {
        $p50 = Get-Percentile $steps[$name] 50
        $p95 = Get-Percentile $steps[$name] 95
        # A connect is set beside the list of its kind (module per login, or the front door), not beside the connect before it;
        # the front door's help beside bare pwsh.
        $beside = switch -Wildcard ($name) {
            'front door: connect*' { Get-Percentile $steps[$names[7]] 50; break }
            '*connect*' { Get-Percentile $steps[$names[3]] 50; break }
            'front door: help' { Get-Percentile $steps[$names[1]] 50; break }
            default { $previous }
        }
        $delta = if ($null -eq $beside -or $name -eq $referenceName) { '' } else { '{0:+0;-0} ms' -f ($p50 - $beside) }
        '{0,-44} {1,8:0} {2,8:0} {3,16}' -f $name, $p50, $p95, $delta
        if ($name -notlike '*connect*' -and $name -ne $referenceName) { $previous = $p50 }
    }
    Write-FrontDoorSteps
    ''
    '{0,-44} {1,12} {2,12} {3,10}' -f "returning box, in process (n=$Cycles)", 'wall p50 ms', 'QEMU CPU p50', 'CPU/wall'
    foreach ($name in $cpuNames) {
        $wall = Get-Percentile @($cpu[$name] | ForEach-Object { $_[0] }) 50
        $used = Get-Percentile @($cpu[$name] | ForEach-Object { $_[1] }) 50
        '{0,-44} {1,12:0} {2,12:0} {3,9:0}%' -f $name, $wall, $used, (100 * $used / $wall)
    }
}
finally {
    if ($frontDoor -and -not $frontDoor.HasExited) { & kill -TERM $frontDoor.Id; $frontDoor.WaitForExit(30000) | Out-Null }
    foreach ($v in $script:variants) { Stop-ShellboxSshd $v }
    Stop-ShellboxSshd $sshd
}
