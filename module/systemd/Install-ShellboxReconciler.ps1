#Requires -Version 7.4
<#
.SYNOPSIS
    Installs and starts shellbox-reconcile.service: the pool reconcile loop of this bastion, restarted if it dies;
    with -Service FrontDoor, shellbox-frontdoor.service: the front door the ssh wrapper hands logins to.
.DESCRIPTION
    Writes the unit (from shellbox-reconcile.service or shellbox-frontdoor.service beside this script, with this pwsh and this module filled in)
    and its environment file (the state folder), then runs systemctl daemon-reload and enable --now. -WhatIf shows
    both files and the commands and writes nothing; -NoStart writes the files but leaves systemctl alone (an image
    build, a machine where systemd is not running). Returns what it wrote.
.EXAMPLE
    sudo pwsh -File /opt/shellbox/Shellbox/systemd/Install-ShellboxReconciler.ps1 -StateDirectory /var/lib/shellbox
.EXAMPLE
    ./Install-ShellboxReconciler.ps1 -StateDirectory /var/lib/shellbox -WhatIf
.EXAMPLE
    sudo pwsh -File /opt/shellbox/Shellbox/systemd/Install-ShellboxReconciler.ps1 -Service FrontDoor -StateDirectory /var/lib/shellbox -User shellbox
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    # Which service: the reconcile loop (default) or the front door.
    [ValidateSet('Reconciler', 'FrontDoor')]
    [string] $Service = 'Reconciler',
    # The state folder the service reconciles (SHELLBOX_HOME in the environment file); default as the cmdlets resolve it.
    [string] $StateDirectory,
    # The wait between passes; default: the pool's CheckInterval.
    [TimeSpan] $Interval,
    # The account the service runs as; default: this one.
    [string] $User = (& id -un),
    [string] $UnitDirectory = '/etc/systemd/system',
    # Default: /etc/shellbox/reconcile.env, or frontdoor.env for the front door.
    [string] $EnvironmentFile,
    # The pwsh to run: a path, or the dotnet host and pwsh.dll; default: the pwsh running this script.
    [string[]] $Pwsh,
    # Write the files only; do not call systemctl.
    [switch] $NoStart
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$unitName, $script = if ($Service -eq 'FrontDoor') { 'shellbox-frontdoor.service', 'shellbox-frontdoor.ps1' } else { 'shellbox-reconcile.service', 'shellbox-reconcile.ps1' }
if (-not $EnvironmentFile) { $EnvironmentFile = if ($Service -eq 'FrontDoor') { '/etc/shellbox/frontdoor.env' } else { '/etc/shellbox/reconcile.env' } }
if ($Service -eq 'FrontDoor' -and $PSBoundParameters.ContainsKey('Interval')) { throw '-Interval is the reconciler''s; the front door has none.' }

if (-not $StateDirectory) {
    $StateDirectory = if ($env:SHELLBOX_HOME) { $env:SHELLBOX_HOME }
    elseif ($env:XDG_DATA_HOME) { Join-Path $env:XDG_DATA_HOME 'shellbox' }
    else { Join-Path $HOME '.local/share/shellbox' }
}
$StateDirectory = [IO.Path]::GetFullPath($StateDirectory)
if (-not $Pwsh) {
    # A pwsh run as a dotnet tool is the dotnet host plus pwsh.dll: run that pair, not a shim that would not pass signals on.
    $dll = [Environment]::GetCommandLineArgs()[0]
    $Pwsh = if ($dll -like '*.dll') { @([Environment]::ProcessPath, $dll) } else { @([Environment]::ProcessPath) }
}

# One ExecStart word: quoted when it must be; '$' and '%' doubled, since systemd expands them.
function ConvertTo-UnitWord([string] $Word) {
    $word = $Word.Replace('%', '%%').Replace('$', '$$')
    if ($word -notmatch '[\s"''\\;]') { return $word }
    return '"' + $word.Replace('\', '\\').Replace('"', '\"') + '"'
}

$arguments = @($Pwsh) + @('-NoProfile', '-NonInteractive', '-File', (Join-Path $PSScriptRoot $script))
if ($PSBoundParameters.ContainsKey('Interval')) { $arguments += @('-Interval', $Interval.ToString()) }
$unit = (Get-Content -Raw (Join-Path $PSScriptRoot $unitName)).
    Replace('@USER@', $User).
    Replace('@ENVIRONMENT_FILE@', (ConvertTo-UnitWord $EnvironmentFile)).
    Replace('@EXEC_START@', (($arguments | ForEach-Object { ConvertTo-UnitWord $_ }) -join ' '))
$environment = "# Read by $unitName. Add SHELLBOX_PROVIDER, SHELLBOX_POOL, SHELLBOX_AZURE_* here as needed.`nSHELLBOX_HOME=$StateDirectory`n"
$unitPath = Join-Path $UnitDirectory $unitName
$commands = @("systemctl daemon-reload", "systemctl enable --now $unitName")

if ($PSCmdlet.ShouldProcess($unitPath, "Write the unit:`n$unit")) {
    New-Item -ItemType Directory -Force $UnitDirectory | Out-Null
    Set-Content -LiteralPath $unitPath -Value $unit -NoNewline
}
if ($PSCmdlet.ShouldProcess($EnvironmentFile, "Write the environment file:`n$environment")) {
    New-Item -ItemType Directory -Force (Split-Path $EnvironmentFile) | Out-Null
    Set-Content -LiteralPath $EnvironmentFile -Value $environment -NoNewline
}
$started = $false
if ($NoStart) {
    Write-Verbose "-NoStart: run '$($commands -join "; ")' on the machine that runs it."
}
elseif (-not (Test-Path /run/systemd/system)) {
    # The files are in place for when the machine boots with systemd; there is nothing to start now.
    Write-Warning "systemd is not running here: run '$($commands -join "; ")' where it is."
}
elseif ($PSCmdlet.ShouldProcess($unitName, ($commands -join '; '))) {
    foreach ($command in $commands) {
        $words = $command -split ' '
        & $words[0] @($words | Select-Object -Skip 1)
        if ($LASTEXITCODE -ne 0) { throw "$command failed with exit code $LASTEXITCODE." }
    }
    $started = $true
}

[pscustomobject]@{
    Unit            = $unitPath
    UnitText        = $unit
    EnvironmentFile = $EnvironmentFile
    EnvironmentText = $environment
    StateDirectory  = $StateDirectory
    Started         = $started
}
