#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and demonstrates the Shellbox module.
.DESCRIPTION
    Tasks run in the order given:
      Bootstrap  installs what a fresh Debian machine lacks (apt packages, the pwsh tool, Pester 6.2.0 from NuGet)
      Build      publishes the module to out/Shellbox (cmdlets at the root, the engine in dependencies/)
      Test       every xunit project, the .NET 8 smoke of the built module, then Pester against it; prints "N passed, N failed"
      Package    out/Shellbox.zip for Azure Automation (the module folder, under 100 MB)
      Demo       the main job on the Local provider (-Provider Azure: through the Azure provider against the
                 loopback ARM emulator and Azurite)
      Bench      the benchmarks (figures, not pass/fail); -FrontDoorOnly: only `ssh HOST connect NAME true` end to end,
                 step by step (sshd alone, pwsh startup, the wrapper, the module and store, the connect)
      Emulator   the loopback ARM emulator with Azurite beside it, until Ctrl+C (models Azure for tests and demos only)
.EXAMPLE
    dotnet tool restore; dotnet pwsh -NoProfile -File ./build.ps1 Bootstrap Build Test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0, ValueFromRemainingArguments = $true)]
    [ValidateSet('Bootstrap', 'Build', 'Test', 'Package', 'Demo', 'Bench', 'Emulator', 'Clean')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # The provider the demo runs on.
    [ValidateSet('Local', 'Azure')]
    [string] $Provider = 'Local',

    # Emulator: latency profile (none, or the seed's Azure figures scaled down 100 times), and the request log.
    [ValidateSet('none', 'seed-scaled')]
    [string] $Latency = 'none',
    [switch] $RequestLog,
    [ValidateRange(0, 65535)]
    [int] $EmulatorPort = 0,

    # Runs a subset: a dotnet test --filter expression for xunit, and a name pattern for Pester.
    [string] $Filter,
    [string] $PesterFilter,

    # Skip the xunit projects (to iterate on Pester tests).
    [switch] $SkipXunit,

    # Bench: only the front door's end-to-end breakdown; and the samples per figure.
    [switch] $FrontDoorOnly,
    [ValidateRange(1, 100)]
    [int] $Cycles = 10
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
. (Join-Path $Root 'build/ReadyToRun.ps1')
$Out = Join-Path $Root 'out'
$ModuleOut = Join-Path $Out 'Shellbox'
$Tools = Join-Path $Root 'tools'
$PesterManifest = Join-Path $Tools 'nuget/pester/6.2.0/tools/Pester.psd1'
$Net8SmokeProject = Join-Path $Root 'tests/Shellbox.Net8Smoke/Shellbox.Net8Smoke.csproj'
$AptPackages = @(
    'qemu-system-x86', 'qemu-utils', 'busybox-static', 'cpio', 'e2fsprogs', 'zstd', 'xz-utils', 'mmdebstrap',
    'openssh-client', 'openssh-server', 'tmux', 'systemd', 'slirp4netns', 'python3-minimal'
)

function Invoke-Native {
    param([string] $Command, [string[]] $Arguments)
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Command $($Arguments -join ' ') failed with exit code $LASTEXITCODE." }
}

# The running pwsh as a command line: the dotnet host plus pwsh.dll when pwsh runs as a dotnet tool.
function Get-PwshCommand {
    $dll = [Environment]::GetCommandLineArgs()[0]
    if ($dll -like '*.dll') { return @([Environment]::ProcessPath, $dll) }
    return @([Environment]::ProcessPath)
}

function Invoke-Pwsh([string[]] $Arguments) {
    $pwsh = Get-PwshCommand
    & $pwsh[0] @($pwsh | Select-Object -Skip 1) @Arguments
}

function Get-ShellboxVersion {
    $props = [xml](Get-Content -Raw (Join-Path $Root 'Directory.Build.props'))
    return [string]($props.Project.PropertyGroup | Where-Object { $_['Version'] } | Select-Object -First 1).Version
}

# apt-get as root, through sudo -n when this is not root (fails clearly rather than prompting).
function Invoke-Apt([string[]] $Arguments) {
    $command = @('env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get') + $Arguments
    if ((& id -u) -ne '0') { $command = @('sudo', '-n') + $command }
    Invoke-Native $command[0] @($command | Select-Object -Skip 1)
}

function Invoke-Bootstrap {
    $missing = @($AptPackages | Where-Object { -not (& dpkg-query -W -f='${Status}' $_ 2>$null | Select-String -Quiet 'install ok installed') })
    # The golden builder resolves the guest's kernel and dropbear with apt-cache: it needs package lists.
    if ($missing.Count -gt 0 -or -not (& apt-cache show --no-all-versions dropbear-bin 2>$null)) { Invoke-Apt @('update', '-q') }
    if ($missing.Count -gt 0) {
        Write-Host "bootstrap: installing apt packages: $($missing -join ' ')"
        Invoke-Apt (@('install', '-y', '-q', '--no-install-recommends') + $missing)
    }
    # sshd (the end-to-end tests start one as root) needs its privilege separation folder.
    if ((& id -u) -eq '0' -and -not (Test-Path /run/sshd)) { New-Item -ItemType Directory /run/sshd | Out-Null }
    Invoke-Native 'dotnet' @('tool', 'restore', '--tool-manifest', (Join-Path $Root '.config/dotnet-tools.json'))
    Install-Azurite
    # The .NET 8 runtime pack of the net8.0 smoke host (self-contained) comes from NuGet.
    Invoke-Native 'dotnet' @('restore', $Net8SmokeProject, '-v', 'q')
    $testTools = @($PesterManifest, (Join-Path $Tools 'nuget/azure.core/1.44.1'), (Join-Path $Tools 'nuget/microsoft.data.sqlite.core/6.0.7'))
    if (@($testTools | Where-Object { -not (Test-Path $_) }).Count -gt 0) {
        Write-Host 'bootstrap: downloading Pester 6.2.0 and test tools from NuGet'
        Invoke-Native 'dotnet' @('restore', (Join-Path $Root 'build/TestTools.proj'), '--packages', (Join-Path $Tools 'nuget'), '-v', 'q')
    }
}

# Azurite (the real Table Storage emulator) from npm, pinned by tests/azurite/package-lock.json.
function Install-Azurite {
    if (-not (Get-Command node -ErrorAction Ignore) -or -not (Get-Command npm -ErrorAction Ignore)) {
        Write-Host 'bootstrap: installing node and npm'
        Invoke-Apt @('install', '-y', '-q', '--no-install-recommends', 'nodejs', 'npm')
    }
    $azurite = Join-Path $Root 'tests/azurite'
    if (-not (Test-Path (Join-Path $azurite 'node_modules/azurite/package.json'))) {
        Write-Host 'bootstrap: installing azurite from npm (tests/azurite/package-lock.json)'
        Invoke-Native 'npm' @('ci', '--prefix', $azurite, '--no-audit', '--no-fund', '--loglevel', 'error')
    }
}

function Invoke-Build {
    $version = Get-ShellboxVersion
    $publish = Join-Path $Out 'publish'
    Remove-Item -Recurse -Force $publish, $ModuleOut -ErrorAction Ignore
    Invoke-Native 'dotnet' @('publish', (Join-Path $Root 'src/Shellbox.PowerShell/Shellbox.PowerShell.csproj'), '-c', $Configuration, '-o', $publish, '--nologo', '-v', 'q')

    # Cmdlet assembly at the root (loaded by PowerShell); everything else in dependencies/, where only
    # the module's private load context looks.
    $dependencies = New-Item -ItemType Directory -Force (Join-Path $ModuleOut 'dependencies')
    Copy-Item (Join-Path $publish 'Shellbox.PowerShell.dll') $ModuleOut
    Get-ChildItem $publish | Where-Object { $_.Name -notlike 'Shellbox.PowerShell.*' -and $_.Name -ne 'System.Management.Automation.dll' } |
        Copy-Item -Destination $dependencies -Recurse
    Copy-Item (Join-Path $Root 'module/*') $ModuleOut -Recurse
    & (Join-Path $Root 'build/New-MamlHelp.ps1') -AssemblyPath (Join-Path $publish 'Shellbox.PowerShell.dll') `
        -XmlDocPath (Join-Path $publish 'Shellbox.PowerShell.xml') -OutputPath (Join-Path $ModuleOut 'en-US/Shellbox.PowerShell.dll-Help.xml')
    New-Item -ItemType Directory -Force (Join-Path $ModuleOut 'assets') | Out-Null
    Copy-Item (Join-Path $Root 'assets/golden') (Join-Path $ModuleOut 'assets') -Recurse

    $manifest = Join-Path $ModuleOut 'Shellbox.psd1'
    Copy-Item (Join-Path $Root 'Shellbox.psd1') $manifest
    Update-ModuleManifest -Path $manifest -ModuleVersion $version
    Add-ModuleReadyToRun $dependencies
    Write-Host "build: module $version in $ModuleOut"
}

# Native code for the engine's assemblies beside their IL (dependencies/readytorun/net10-linux-x64), which the module's
# load context prefers on that runtime: an ssh session then starts without compiling them. Other runtimes use the IL.
function Add-ModuleReadyToRun([string] $Dependencies) {
    if (-not (Test-ReadyToRunHost)) { return }
    $crossgen = Get-Crossgen2 $Root
    if (-not $crossgen) { return }
    $assemblies = @(Get-ChildItem $Dependencies -Filter *.dll -File)
    $compiled = Invoke-ReadyToRun $crossgen $assemblies @((Join-Path $Dependencies '*.dll')) (Join-Path $Dependencies "readytorun/$(Get-ReadyToRunFolderName)")
    Write-Host "build: ReadyToRun code for $compiled assemblies ($(Get-ReadyToRunFolderName))"
}

function Get-TrxCounts([string] $Folder) {
    $passed = 0; $failed = 0
    foreach ($file in Get-ChildItem -Path $Folder -Filter *.trx -Recurse -ErrorAction Ignore) {
        $counters = ([xml](Get-Content -Raw -LiteralPath $file.FullName)).TestRun.ResultSummary.Counters
        $passed += [int]$counters.passed
        $failed += [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
    }
    return $passed, $failed
}

function Invoke-Test {
    if (-not (Test-Path (Join-Path $ModuleOut 'Shellbox.psd1'))) { Invoke-Build }
    $results = Join-Path $Out 'test-results'
    Remove-Item -Recurse -Force $results -ErrorAction Ignore
    New-Item -ItemType Directory -Force $results | Out-Null
    $dotnetArgs = @('test', (Join-Path $Root 'Shellbox.PowerShell.sln'), '-c', $Configuration, '--nologo',
        '--logger', 'trx', '--logger', 'console;verbosity=minimal', '--results-directory', (Join-Path $results 'xunit'))
    if ($Filter) { $dotnetArgs += @('--filter', $Filter) }
    $passed, $failed = 0, 0
    if (-not $SkipXunit) {
        & dotnet @dotnetArgs
        $xunitExit = $LASTEXITCODE
        $passed, $failed = Get-TrxCounts (Join-Path $results 'xunit')
        if ($xunitExit -ne 0 -and $failed -eq 0) { $failed = 1; Write-Warning 'dotnet test failed without a failed test (build or crash); counted as one failure.' }
    }

    if (Invoke-Net8Smoke) { $passed += 1 } else { $failed += 1 }

    # Pester in a child pwsh so the module loads into a clean session, as a user would load it.
    $pesterJson = Join-Path $results 'pester.json'
    Invoke-Pwsh @('-NoProfile', '-NonInteractive', '-File', (Join-Path $Root 'build/Invoke-PesterTests.ps1'),
        '-PesterManifest', $PesterManifest, '-TestsPath', (Join-Path $Root 'tests/pester'),
        '-ModuleManifest', (Join-Path $ModuleOut 'Shellbox.psd1'), '-ResultPath', $pesterJson, '-Filter', "$PesterFilter")
    if (Test-Path $pesterJson) {
        $pester = Get-Content -Raw $pesterJson | ConvertFrom-Json
        $passed += $pester.passed; $failed += $pester.failed
    }
    else {
        Write-Warning 'Pester did not report results; counted as one failure.'
        $failed += 1
    }

    Write-Host "$passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

# pwsh 7.4 (Azure Automation) runs on .NET 8: a self-contained net8.0 host loads the built module's dependencies through
# the module's load context and runs a store and planner smoke. One test in the counts.
function Invoke-Net8Smoke {
    $smoke = Join-Path $Out 'net8-smoke'
    & dotnet publish $Net8SmokeProject -c $Configuration -o $smoke --nologo -v q "-p:ShellboxModule=$ModuleOut" | Out-Host
    if ($LASTEXITCODE -ne 0) { Write-Warning 'net8 smoke: the publish failed; counted as one failure.'; return $false }
    & (Join-Path $smoke 'Shellbox.Net8Smoke') (Join-Path $ModuleOut 'dependencies') | Out-Host
    return $LASTEXITCODE -eq 0
}

# The zip Azure Automation imports: named like the module, holding the module folder (Shellbox/Shellbox.psd1, ...).
function Invoke-Package {
    if (-not (Test-Path (Join-Path $ModuleOut 'Shellbox.psd1'))) { Invoke-Build }
    $zip = Join-Path $Out 'Shellbox.zip'
    Remove-Item $zip -ErrorAction Ignore
    Compress-Archive -Path $ModuleOut -DestinationPath $zip
    $size = (Get-Item $zip).Length
    Write-Host ('package: {0}, {1:N1} MB (Automation takes up to 100 MB)' -f $zip, ($size / 1MB))
    if ($size -ge 100MB) { throw "package: $zip is $([math]::Round($size / 1MB, 1)) MB; Azure Automation refuses a module over 100 MB." }
}

function Invoke-Demo {
    if (-not (Test-Path (Join-Path $ModuleOut 'Shellbox.psd1'))) { Invoke-Build }
    $demo = @('-NoProfile', '-File', (Join-Path $Root 'demo/Start-ShellboxDemo.ps1'), '-ModulePath', (Join-Path $ModuleOut 'Shellbox.psd1'))
    if ($Provider -eq 'Local') {
        Invoke-Pwsh $demo
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
        return
    }

    # The same main job through the Azure provider, against the loopback ARM emulator (a real sshd and agent
    # per emulated VM) and Azurite, started here and stopped at the end.
    . (Join-Path $Root 'build/AzureEmulator.ps1')
    $state = Join-Path $Out 'demo-azure-state'
    # A fresh emulator and store each run; the control key stays, so the golden its VMs build is found cached.
    if (Test-Path $state) { Get-ChildItem $state -Exclude 'keys' | Remove-Item -Recurse -Force }
    $emulator = Start-ShellboxAzureEmulator -StateDirectory $state -VmHosts -RequestLog
    try {
        foreach ($pair in $emulator.Environment.GetEnumerator()) { Set-Item "env:$($pair.Key)" $pair.Value }
        Invoke-Pwsh ($demo + @('-StateDirectory', $state, '-ArmRequestLog', $emulator.RequestLog))
        $code = $LASTEXITCODE
    }
    finally { Stop-ShellboxAzureEmulator $emulator }
    if ($code -ne 0) { exit $code }
}

function Invoke-Bench {
    $bench = @('-NoProfile', '-File', (Join-Path $Root 'bench/Invoke-ShellboxBench.ps1'), '-ModulePath', (Join-Path $ModuleOut 'Shellbox.psd1'), '-Cycles', $Cycles)
    if ($FrontDoorOnly) { $bench += '-FrontDoorOnly' }
    # The bench's sshd runs the wrapper with the pwsh that runs the bench: a ReadyToRun one, as a bastion's pwsh
    # from the official packages is; the dotnet tool's IL-only pwsh is measured beside it for comparison.
    $pwsh = Get-ReadyToRunPwsh $Root (Join-Path $Out 'pwsh')
    if (-not $pwsh) { Invoke-Pwsh $bench; return }
    & ([Environment]::ProcessPath) $pwsh @bench -ReferencePwsh ((Get-PwshCommand) -join ' ')
}

foreach ($name in $Task) {
    Write-Host "== $name"
    switch ($name) {
        'Bootstrap' { Invoke-Bootstrap }
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Package' { Invoke-Package }
        'Demo' { Invoke-Demo }
        'Bench' { Invoke-Bench }
        'Emulator' { & (Join-Path $Root 'build/Start-ShellboxAzureEmulator.ps1') -Port $EmulatorPort -Latency $Latency -RequestLog:$RequestLog -VmHosts }
        'Clean' { Remove-Item -Recurse -Force $Out -ErrorAction Ignore }
    }
}
