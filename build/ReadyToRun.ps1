# ReadyToRun (precompiled native code beside the IL) for the assemblies the bastion's pwsh loads on every ssh
# session: without it each session spends most of its CPU compiling the same methods again (JIT). Dot-sourced by
# build.ps1. Compiled for the runtime running this script (its version picks crossgen2's), on linux-x64 only;
# elsewhere, or when the compiler cannot be restored, nothing is compiled and the IL alone runs as before.

# The folder name the module's load context looks for (ShellboxLoadContext.ReadyToRunFolder): the runtime major
# version and platform the code was compiled for; any other runtime ignores it.
function Get-ReadyToRunFolderName { 'net{0}-linux-x64' -f [Environment]::Version.Major }

function Test-ReadyToRunHost {
    $IsLinux -and [Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture -eq 'X64'
}

# crossgen2 of the running runtime's version, restored from NuGet into tools/nuget; $null (with a warning) when it cannot be.
function Get-Crossgen2([string] $Root) {
    $version = [Environment]::Version.ToString(3)
    $packages = Join-Path $Root 'tools/nuget'
    $crossgen = Join-Path $packages "microsoft.netcore.app.crossgen2.linux-x64/$version/tools/crossgen2"
    if (-not (Test-Path $crossgen)) {
        & dotnet restore (Join-Path $Root 'build/Crossgen2.proj') --packages $packages -v q "-p:Crossgen2Version=$version" | Out-Host
        if ($LASTEXITCODE -ne 0 -or -not (Test-Path $crossgen)) {
            Write-Warning "ReadyToRun: crossgen2 $version could not be restored; the assemblies stay IL only (slower start, same behaviour)."
            return $null
        }
    }
    $crossgen
}

# Compiles each managed assembly in $Assemblies into $OutputDirectory (same file name), referencing the running
# runtime's framework and $References (globs). One that fails to compile is left out with a warning: its IL runs.
function Invoke-ReadyToRun([string] $Crossgen, [IO.FileInfo[]] $Assemblies, [string[]] $References, [string] $OutputDirectory) {
    New-Item -ItemType Directory -Force $OutputDirectory | Out-Null
    $framework = Join-Path ([Runtime.InteropServices.RuntimeEnvironment]::GetRuntimeDirectory()) '*.dll'
    $compiled = 0
    foreach ($assembly in $Assemblies) {
        if (-not (Test-ManagedAssembly $assembly.FullName)) { continue }
        $target = Join-Path $OutputDirectory $assembly.Name
        $arguments = @($assembly.FullName, '-o', $target, '--targetos', 'linux', '--targetarch', 'x64', '-O', '-r', $framework)
        foreach ($reference in $References) { $arguments += @('-r', $reference) }
        # A response file: pwsh on Linux would expand the reference globs into more inputs.
        $response = "$target.rsp"
        Set-Content -LiteralPath $response $arguments
        $log = & $Crossgen "@$response" 2>&1
        Remove-Item -LiteralPath $response
        if ($LASTEXITCODE -eq 0) { $compiled++ }
        else {
            Remove-Item $target -ErrorAction Ignore
            Write-Warning "ReadyToRun: $($assembly.Name) stays IL only: $(($log | Select-Object -Last 3) -join ' ')"
        }
    }
    $compiled
}

# True for an IL assembly not yet compiled to native code (native libraries and ReadyToRun images are skipped).
function Test-ManagedAssembly([string] $Path) {
    $stream = [IO.File]::OpenRead($Path)
    try {
        $reader = [Reflection.PortableExecutable.PEReader]::new($stream)
        $cor = $reader.PEHeaders.CorHeader
        $null -ne $cor -and $cor.ManagedNativeHeaderDirectory.Size -eq 0
    }
    catch [BadImageFormatException] { $false }
    finally { $stream.Dispose() }
}

# The assemblies pwsh loads to run the wrapper (its start, the host, the cmdlets the module and wrapper use).
$PwshStartupAssemblies = @(
    'pwsh.dll', 'System.Management.Automation.dll', 'Microsoft.PowerShell.ConsoleHost.dll', 'Microsoft.PowerShell.Commands.Utility.dll',
    'Microsoft.PowerShell.Commands.Management.dll', 'Microsoft.PowerShell.Security.dll', 'Newtonsoft.Json.dll',
    'Microsoft.Management.Infrastructure.dll', 'Microsoft.ApplicationInsights.dll', 'Microsoft.PowerShell.MarkdownRender.dll'
)

# A copy of the running pwsh (the dotnet tool, whose assemblies are IL only) with ReadyToRun code for its startup
# assemblies, as the official pwsh packages ship: the pwsh a bastion's sshd should run the wrapper with. Made once
# per pwsh and runtime version in $Destination; returns the pwsh.dll to run with dotnet, or $null when it cannot be made.
function Get-ReadyToRunPwsh([string] $Root, [string] $Destination) {
    $pwshDll = [Environment]::GetCommandLineArgs()[0]
    if (-not (Test-ReadyToRunHost) -or $pwshDll -notlike '*.dll') { return $null }
    $source = Split-Path $pwshDll
    $stamp = "$source $([Environment]::Version)"
    $stampFile = Join-Path $Destination '.readytorun-source'
    $target = Join-Path $Destination 'pwsh.dll'
    if ((Test-Path $stampFile) -and (Get-Content -Raw $stampFile).Trim() -eq $stamp) { return $target }
    $crossgen = Get-Crossgen2 $Root
    if (-not $crossgen) { return $null }
    Remove-Item -Recurse -Force $Destination -ErrorAction Ignore
    Copy-Item $source $Destination -Recurse
    $assemblies = @($PwshStartupAssemblies | ForEach-Object { Get-Item (Join-Path $source $_) -ErrorAction Ignore })
    $scratch = Join-Path $Destination '.readytorun'
    $compiled = Invoke-ReadyToRun $crossgen $assemblies @((Join-Path $source '*.dll')) $scratch
    Get-ChildItem $scratch -Filter *.dll | Move-Item -Destination $Destination -Force
    Remove-Item -Recurse -Force $scratch
    Set-Content $stampFile $stamp
    Write-Host "bench: pwsh with ReadyToRun code for $compiled startup assemblies in $Destination"
    $target
}
