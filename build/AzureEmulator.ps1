# Starting and stopping the loopback ARM emulator and Azurite together; dot-sourced by
# Start-ShellboxAzureEmulator.ps1, the Azure demo and the Pester Azure tests.

$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path
# Azurite's well-known development account (public, documented by Microsoft; not a secret).
$script:AzuriteAccount = 'devstoreaccount1'
$script:AzuriteKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

function Get-FreeLoopbackPort {
    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { return $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Wait-LoopbackPort([int] $Port, [Diagnostics.Process] $Process, [string] $What, [string] $Log, [int] $Seconds = 60) {
    $deadline = (Get-Date).AddSeconds($Seconds)
    while ($true) {
        $client = [Net.Sockets.TcpClient]::new()
        try { $client.Connect('127.0.0.1', $Port); return } catch { } finally { $client.Dispose() }
        if ($Process.HasExited -or (Get-Date) -gt $deadline) { throw "$What did not start on 127.0.0.1:$Port; see $Log." }
        Start-Sleep -Milliseconds 100
    }
}

# Output goes straight to files (not through PowerShell events, which only run while the session is idle).
function Start-LoggedProcess([string] $File, [string[]] $Arguments, [string] $Log) {
    Start-Process -FilePath $File -ArgumentList $Arguments -PassThru -RedirectStandardOutput $Log -RedirectStandardError "$Log.err"
}

# A project's Release build output, built on first use (Test builds the whole solution anyway).
function Get-BuiltFile([string] $Project, [string] $File) {
    $path = Join-Path $script:RepoRoot $File
    if (-not (Test-Path $path)) {
        & dotnet build (Join-Path $script:RepoRoot $Project) -c Release --nologo -v q | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "building $Project failed: dotnet build $Project -c Release" }
    }
    return $path
}

function Start-ShellboxAzureEmulator {
    param([string] $StateDirectory, [int] $Port = 0, [string] $Latency = 'none', [switch] $VmHosts, [switch] $RequestLog)
    if (-not $StateDirectory) { $StateDirectory = Join-Path ([IO.Path]::GetTempPath()) "shellbox-azure-$([guid]::NewGuid().ToString('N').Substring(0, 8))" }
    $StateDirectory = [IO.Path]::GetFullPath($StateDirectory)
    $logs = New-Item -ItemType Directory -Force (Join-Path $StateDirectory 'emulator')
    $azuriteMain = Join-Path $script:RepoRoot 'tests/azurite/node_modules/azurite/dist/src/table/main.js'
    if (-not (Test-Path $azuriteMain)) { throw "Azurite is not installed; run ./build.ps1 Bootstrap (npm ci in tests/azurite)." }

    $tablePort = Get-FreeLoopbackPort
    $azurite = Start-LoggedProcess 'node' @($azuriteMain, '--tableHost', '127.0.0.1', '--tablePort', "$tablePort", '--inMemoryPersistence', '--disableTelemetry',
        '--skipApiVersionCheck') (Join-Path $logs 'azurite.log')
    $emulatorDll = Get-BuiltFile 'tests/Shellbox.ArmEmulator/Shellbox.ArmEmulator.csproj' 'tests/Shellbox.ArmEmulator/bin/Release/net10.0/Shellbox.ArmEmulator.dll'
    $emulatorArgs = @($emulatorDll, '--port', "$Port", '--latency', $Latency, '--data', (Join-Path $logs 'arm'))
    $instanceSshPort = 22
    if ($VmHosts) {
        # Each emulated VM: a real sshd on its own loopback address running the built agent; goldens it builds
        # are cached by content hash in <repo>/.cache/golden, as the tests cache theirs.
        $agent = Split-Path (Get-BuiltFile 'src/Shellbox.Agent/Shellbox.Agent.csproj' 'src/Shellbox.Agent/bin/Release/net8.0/shellbox-agent')
        $instanceSshPort = Get-FreeLoopbackPort
        $emulatorArgs += @('--vm-host', 'sshd', '--agent', $agent, '--instance-ssh-port', "$instanceSshPort", '--golden-cache', (Join-Path $script:RepoRoot '.cache/golden'))
    }
    if ($RequestLog) { $emulatorArgs += '--log' }
    $emulator = Start-LoggedProcess 'dotnet' $emulatorArgs (Join-Path $logs 'emulator.log')
    try {
        Wait-LoopbackPort $tablePort $azurite 'Azurite' (Join-Path $logs 'azurite.log')
        $printed = Read-EmulatorSettings $emulator (Join-Path $logs 'emulator.log')
    }
    catch {
        foreach ($p in $azurite, $emulator) { if (-not $p.HasExited) { $p.Kill($true) } }
        throw
    }

    # Trust: the system bundle plus the emulator's certificate, for child processes (SSL_CERT_FILE).
    $bundle = Join-Path $logs 'ca-bundle.pem'
    $system = @('/etc/ssl/certs/ca-certificates.crt') | Where-Object { Test-Path $_ }
    (@($system | ForEach-Object { Get-Content -Raw $_ }) + (Get-Content -Raw $printed.CertificatePem)) -join "`n" | Set-Content -NoNewline $bundle

    $subnet = "/subscriptions/$($printed.SubscriptionId)/resourceGroups/$($printed.ResourceGroup)/providers/Microsoft.Network/virtualNetworks/shellbox-vnet/subnets/boxes"
    $tableEndpoint = "http://127.0.0.1:$tablePort/$script:AzuriteAccount"
    $config = [ordered]@{
        provider = 'Azure'
        azure    = [ordered]@{
            subscriptionId = $printed.SubscriptionId; resourceGroup = $printed.ResourceGroup; location = $printed.Location; subnetId = $subnet
            armEndpoint = $printed.BaseUri.TrimEnd('/'); credential = 'ManagedIdentity'; tableName = 'shellbox'
            instanceSshPort = $instanceSshPort
            # The emulated VMs' sshd runs here as root, and sshd needs the admin user to exist: root (Azure itself
            # refuses root as an admin name; the emulator models Azure for tests and demos only).
            adminUsername = $(if ($VmHosts) { 'root' } else { 'shellbox' })
        }
    }
    $configFile = Join-Path $StateDirectory 'shellbox.json'
    $config | ConvertTo-Json -Depth 5 | Set-Content $configFile
    $environment = [ordered]@{
        SHELLBOX_HOME                    = $StateDirectory
        SSL_CERT_FILE                    = $bundle
        IDENTITY_ENDPOINT                = $printed.IdentityEndpoint
        IDENTITY_HEADER                  = $printed.IdentityHeader
        SHELLBOX_TABLE_CONNECTION_STRING = "DefaultEndpointsProtocol=http;AccountName=$script:AzuriteAccount;AccountKey=$script:AzuriteKey;TableEndpoint=$tableEndpoint;"
    }
    [pscustomobject]@{
        StateDirectory = $StateDirectory; ConfigFile = $configFile; LogFolder = $logs.FullName
        BaseUri = $printed.BaseUri; CertificatePem = $printed.CertificatePem; CertificateBundle = $bundle
        SubscriptionId = $printed.SubscriptionId; ResourceGroup = $printed.ResourceGroup; Location = $printed.Location
        IdentityEndpoint = $printed.IdentityEndpoint; TableEndpoint = $tableEndpoint; Environment = $environment
        Emulator = $emulator; Azurite = $azurite; RequestLog = (Join-Path $logs 'emulator.log')
    }
}

# The emulator prints `key: value` lines once it listens; read them until the settings are complete.
function Read-EmulatorSettings([Diagnostics.Process] $Emulator, [string] $Log) {
    $keys = @{
        baseurl = 'BaseUri'; certpem = 'CertificatePem'; certificate = 'CertificatePem'; certificatepem = 'CertificatePem'; subscriptionid = 'SubscriptionId'; subscription = 'SubscriptionId'
        resourcegroup = 'ResourceGroup'; location = 'Location'; identityendpoint = 'IdentityEndpoint'; managedidentityendpoint = 'IdentityEndpoint'
        identityheader = 'IdentityHeader'; managedidentityheader = 'IdentityHeader'
    }
    $deadline = (Get-Date).AddSeconds(60)
    while ($true) {
        $found = @{}
        foreach ($line in @(Get-Content $Log -ErrorAction Ignore)) {
            if ($line -match '^\s*([A-Za-z _-]+?)\s*:\s+(\S.*)$') {
                $key = $Matches[1].ToLowerInvariant() -replace '[ _-]', ''
                if ($keys.ContainsKey($key)) { $found[$keys[$key]] = $Matches[2].Trim() }
            }
        }
        if ($found.Count -ge 7) { return [pscustomobject]$found }
        if ($Emulator.HasExited -or (Get-Date) -gt $deadline) { throw "the ARM emulator did not print its settings; see $Log." }
        Start-Sleep -Milliseconds 100
    }
}

function Stop-ShellboxAzureEmulator($Emulator) {
    # SIGTERM first: the emulator then deletes its VMs, which stops their sshd and any box QEMU they run.
    foreach ($process in @($Emulator.Emulator, $Emulator.Azurite)) {
        if ($process -and -not $process.HasExited) {
            & kill -TERM $process.Id 2>$null
            if (-not $process.WaitForExit(30000)) { $process.Kill($true); $null = $process.WaitForExit(10000) }
        }
    }
}
