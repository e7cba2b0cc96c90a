#Requires -Version 7.4
<#
.SYNOPSIS
    The main job on the Local provider: golden snapshot, warm pool, connect, disconnect, reconnect.
.DESCRIPTION
    Builds (or finds) the golden snapshot, fills a small local pool, connects a new box from a ready
    pair, runs a command in it that writes a file and starts a background process, disconnects
    (the box is suspended to its volume), reconnects (it resumes where it was), and shows that the
    file and the process survived, then prints the pool and the connect timings.
    State lives in out/demo-state unless -StateDirectory says otherwise.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $StateDirectory = (Join-Path $PSScriptRoot '../out/demo-state'),
    [string] $BoxName = 'demo',
    # The Azure demo: the ARM emulator's request log, to count the ARM writes on each connect's critical path.
    [string] $ArmRequestLog
)

$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force
New-Item -ItemType Directory -Force $StateDirectory | Out-Null
$StateDirectory = (Resolve-Path $StateDirectory).Path
$PSDefaultParameterValues['*-Shellbox*:StateDirectory'] = $StateDirectory

# Two free instances: one becomes a ready pair (a new box costs no provider call), one stays bare (a returning box
# costs one attach). Other settings in shellbox.json are kept.
$configFile = Join-Path $StateDirectory 'shellbox.json'
$config = if (Test-Path $configFile) { Get-Content -Raw $configFile | ConvertFrom-Json -AsHashtable } else { @{} }
$config.poolBounds = @{ minFreeInstances = 2; maxFreeInstances = 3; maxTotalInstances = 5 }
$config | ConvertTo-Json -Depth 5 | Set-Content $configFile

function Step([string] $Text) { Write-Host "`n== $Text" -ForegroundColor Cyan }

# ARM writes (PUT, PATCH, POST, DELETE on a resource; Resource Graph queries are reads) logged so far.
function Get-ArmWriteCount {
    if (-not $ArmRequestLog) { return 0 }
    @(Get-Content $ArmRequestLog | Where-Object { $_ -match '\b(PUT|PATCH|POST|DELETE)\b.*\s/subscriptions/' -and $_ -notmatch 'Microsoft\.ResourceGraph' }).Count
}

function Invoke-InBox([string] $Command) {
    $before = Get-ArmWriteCount
    $c = Connect-ShellboxBox -Name $BoxName -PassThru -Confirm:$false
    $c | Add-Member -NotePropertyName ArmWrites -NotePropertyValue ((Get-ArmWriteCount) - $before)
    try {
        $output = & ssh @($c.SshArguments) $Command
        if ($LASTEXITCODE -ne 0) { throw "The command in the box failed with exit code $LASTEXITCODE." }
        return [pscustomobject]@{ Output = $output; Connection = $c }
    }
    finally { $c | Disconnect-ShellboxBox -Confirm:$false }
}

Step "golden snapshot (built once, then found by its content hash)"
New-ShellboxGoldenSnapshot -Confirm:$false | Format-List Version, Location

Step 'reconcile: fill the pool, then pair a free instance with a free volume (ready pair)'
1..2 | ForEach-Object { Invoke-ShellboxPoolReconcile -Confirm:$false | Select-Object Succeeded, Failed, Planned | Format-List }
Get-ShellboxPool | Format-Table

if (Get-ShellboxBox -Name $BoxName -ErrorAction SilentlyContinue) {
    Step "removing the box '$BoxName' left by an earlier demo"
    Remove-ShellboxBox -Name $BoxName -Force
}

Step "connect: a new box '$BoxName' from the ready pair; write a file and start a background counter"
$first = Invoke-InBox 'echo "you are $(whoami) on $(hostname), $(. /etc/os-release; echo $PRETTY_NAME), $(bash --version | head -n1 | cut -d, -f2 | xargs)"; sudo -n true && echo "sudo works without a password; apt: $(apt-get --version | head -n1)"; echo "written at $(date)" > ~/hello.txt; setsid sh -c ''i=0; while :; do i=$((i+1)); echo $i > /tmp/counter; sleep 1; done'' >/dev/null 2>&1 </dev/null & sleep 2; echo "counter at $(cat /tmp/counter)"'
$first.Output
Get-ShellboxBox -Name $BoxName | Format-Table UserId, Name, State, Sessions, VolumeId

Step 'reconcile (as the scheduled loop or runbook would): keeps the pool full, mirrors the new box owner onto its volume'
Invoke-ShellboxPoolReconcile -Confirm:$false | Select-Object Succeeded, Failed, Planned | Format-List

Step 'reconnect: the box resumes from its volume where it was'
Start-Sleep -Seconds 2
$second = Invoke-InBox 'cat ~/hello.txt; echo "counter now $(cat /tmp/counter)"; ps -eo pid,args | grep "[s]leep 1" | head -1'
$second.Output

Step 'pool and connect timings (ms)'
Get-ShellboxPool | Format-Table
foreach ($c in $first.Connection, $second.Connection) {
    $line = '{0,-22} {1}  total {2:0} ms' -f $c.Path, (($c.Steps.GetEnumerator() | ForEach-Object { '{0} {1:0}' -f $_.Key, $_.Value }) -join ', '), $c.TotalMilliseconds
    if ($ArmRequestLog) { $line += "  ARM writes on the critical path: $($c.ArmWrites)" }
    $line
}

$ok = ($second.Output -join "`n") -match 'written at' -and ($second.Output -join "`n") -match 'counter now \d+'
if (-not $ok) { Write-Error 'The file or the counter did not survive the suspend and resume.' }
Write-Host "`ndemo finished: the file and the counter process survived suspend and resume." -ForegroundColor Green
