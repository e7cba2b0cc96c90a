# The status server on the Azure provider: the same server over the Azure engine (Table Storage on a real
# Azurite, Resource Graph and ARM on the loopback emulator), in a child pwsh with the operator's environment.
# No VM hosts and no golden snapshot: reconcile creates instances only, which is enough to see the Azure
# store's counts, events and inventory reach /pool/status and /metrics.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    . (Join-Path (Get-RepoRoot) 'build/AzureEmulator.ps1')
    $script:ModulePath = Get-ShellboxModulePath
    $state = New-TestStateDirectory 'shellbox-status-azure'
    $script:Emulator = Start-ShellboxAzureEmulator -StateDirectory $state
    $config = Get-Content -Raw $Emulator.ConfigFile | ConvertFrom-Json -AsHashtable
    $config.poolBounds = @{ minFreeInstances = 2; maxFreeInstances = 3; maxTotalInstances = 4; minFreeVolumes = 0; maxFreeVolumes = 2; maxTotalVolumes = 4 }
    $config | ConvertTo-Json -Depth 5 | Set-Content $Emulator.ConfigFile

    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start(); $script:Port = $listener.LocalEndpoint.Port; $listener.Stop()
}

AfterAll {
    if ($Emulator) {
        Stop-ShellboxAzureEmulator $Emulator
        Remove-Item -Recurse -Force $Emulator.StateDirectory -ErrorAction Ignore
    }
}

Describe 'StatusServer on the Azure provider' {
    It 'serves the Azure pool at /pool/status and /metrics after a reconcile' {
        $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModulePath'
`$server = Start-ShellboxStatusServer -Port $Port -Confirm:`$false
`$lines = Invoke-ShellboxPoolReconcile -Confirm:`$false -Verbose 4>&1 | Where-Object { `$_ -is [Management.Automation.VerboseRecord] } | ForEach-Object Message
`$status = Invoke-RestMethod "`$(`$server.Url)/pool/status"
`$metrics = (Invoke-WebRequest "`$(`$server.Url)/metrics").Content
`$pool = Get-ShellboxPool
Stop-ShellboxStatusServer -Confirm:`$false
[pscustomobject]@{
    Provider = `$status.provider
    FreeInstances = (`$status.pools | Where-Object pool -eq 'instance').free
    PoolFreeInstances = (`$pool | Where-Object Pool -eq 'instance').Free
    LastReconcileSucceeded = `$status.lastReconcile.succeeded
    Passes = (`$metrics -split "``n" | Where-Object { `$_ -match '^shellbox_reconcile_passes_total\{outcome="done"\}' }) -replace '.* ', ''
    PassLine = @(`$lines | Where-Object { `$_ -match '^correlation=\S+ reconcile pass ' }).Count
    SecretInLines = [bool](`$lines | Where-Object { `$_ -match 'AccountKey|SharedAccessSignature|PRIVATE KEY' -or (`$env:SHELLBOX_TABLE_CONNECTION_STRING -and `$_.Contains(`$env:SHELLBOX_TABLE_CONNECTION_STRING)) })
    InstanceGauge = (`$metrics -split "``n" | Where-Object { `$_ -match '^shellbox_pool_resources\{role="instance",status="free"\}' }) -replace '.* ', ''
} | ConvertTo-Json -Compress
"@
        $result = Invoke-ChildPwsh $script -Environment $Emulator.Environment
        $result.ExitCode | Should -Be 0 -Because "$($result.Output)`n$($result.Error)"
        $seen = ($result.Output -split "`n" | Where-Object { $_ -like '{*' } | Select-Object -Last 1) | ConvertFrom-Json

        $seen.Provider | Should -Be 'Azure'
        $seen.FreeInstances | Should -Be 2 -Because 'reconcile made the two free instances the pool asks for'
        $seen.FreeInstances | Should -Be $seen.PoolFreeInstances
        $seen.LastReconcileSucceeded | Should -BeTrue
        [int]$seen.Passes | Should -Be 1
        [int]$seen.InstanceGauge | Should -Be 2
        $seen.PassLine | Should -Be 1 -Because 'the pass writes one summary line to -Verbose'
        $seen.SecretInLines | Should -BeFalse -Because 'no log line carries the table connection string or a key'
    }
}
