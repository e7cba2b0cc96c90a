# Shared by the Pester tests: where the built module is, and private state folders.

function Get-ShellboxModulePath {
    if ($env:SHELLBOX_MODULE) { return $env:SHELLBOX_MODULE }
    return (Join-Path $PSScriptRoot '../../out/Shellbox/Shellbox.psd1')
}

function Get-RepoRoot { (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path }

# A new empty state folder for one test, under the system temp folder.
function New-TestStateDirectory([string] $Prefix = 'shellbox-pester') {
    $path = Join-Path ([IO.Path]::GetTempPath()) "$Prefix-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    New-Item -ItemType Directory -Path $path | Out-Null
    return $path
}

# Runs a script in a child pwsh (a fresh session, as a user would start one); returns its output lines and exit code.
# The running pwsh as a command line: the dotnet host plus pwsh.dll when pwsh runs as a dotnet tool.
function Get-PwshCommand {
    $dll = [Environment]::GetCommandLineArgs()[0]
    if ($dll -like '*.dll') { return @([Environment]::ProcessPath, $dll) }
    return @([Environment]::ProcessPath)
}

function Invoke-ChildPwsh([string] $Script, [hashtable] $Environment = @{}) {
    $pwsh = Get-PwshCommand
    $start = [Diagnostics.ProcessStartInfo]::new($pwsh[0])
    foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $Script)) { $start.ArgumentList.Add($a) }
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    foreach ($key in $Environment.Keys) { $start.Environment[$key] = $Environment[$key] }
    $process = [Diagnostics.Process]::Start($start)
    $stdout = $process.StandardOutput.ReadToEndAsync()
    $stderr = $process.StandardError.ReadToEndAsync()
    $process.WaitForExit()
    [pscustomobject]@{ Output = $stdout.Result; Error = $stderr.Result; ExitCode = $process.ExitCode }
}

# Links the goldens and control key of the xunit run (<repo>/.cache) into STATE, when there: a Debian golden takes
# minutes to build, and New-ShellboxGoldenSnapshot then finds it current. Hard links: nothing is copied.
function Add-CachedGolden([string] $State) {
    $cache = Join-Path (Get-RepoRoot) '.cache'
    if (-not (Test-Path (Join-Path $cache 'keys/control_ed25519'))) { return }
    New-Item -ItemType Directory -Force (Join-Path $State 'keys'), (Join-Path $State 'golden') | Out-Null
    Get-ChildItem (Join-Path $cache 'keys') -File | ForEach-Object { New-Item -ItemType HardLink -Path (Join-Path $State "keys/$($_.Name)") -Target $_.FullName | Out-Null }
    foreach ($golden in Get-ChildItem (Join-Path $cache 'golden') -Directory -Filter 'golden-snapshot-*') {
        $copy = New-Item -ItemType Directory (Join-Path $State "golden/$($golden.Name)")
        Get-ChildItem $golden.FullName -File | ForEach-Object { New-Item -ItemType HardLink -Path (Join-Path $copy $_.Name) -Target $_.FullName | Out-Null }
    }
}

Export-ModuleMember -Function *
