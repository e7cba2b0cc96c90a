# The Azure Automation runbook (module/runbooks), run as a job would run it but against the Local provider:
# real SQLite store, real QEMU boxes, a short -Duration.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ShellboxModulePath
    $script:Runbook = Join-Path (Split-Path $ModulePath) 'runbooks/Invoke-ShellboxReconcileRunbook.ps1'
    $script:State = New-TestStateDirectory 'shellbox-runbook'
    $script:Bounds = @{ minFreeInstances = 1; maxFreeInstances = 2; maxTotalInstances = 3; minFreeVolumes = 2; maxFreeVolumes = 3; maxTotalVolumes = 4 }
    function Set-Bounds([hashtable] $Bounds) {
        @{ pool = 'Dev'; poolBounds = $Bounds; local = @{ guest = 'minimal'; maxSlots = 3; basePort = $script:BasePort } } |
            ConvertTo-Json | Set-Content (Join-Path $State 'shellbox.json')
    }
    $script:BasePort = Get-Random -Minimum 30000 -Maximum 32700
    Set-Bounds $Bounds

    # The goldens and control key of the xunit run, linked in when there (a Debian golden takes minutes to build).
    Add-CachedGolden $State
    Import-Module $ModulePath -Force
    New-ShellboxGoldenSnapshot -StateDirectory $State -Confirm:$false | Out-Null

    # A child pwsh whose output is read line by line while it runs, and whose input the test can answer.
    function Start-Child([string[]] $Arguments) {
        $pwsh = Get-PwshCommand
        $start = [Diagnostics.ProcessStartInfo]::new($pwsh[0])
        foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoProfile') + $Arguments) { $start.ArgumentList.Add($a) }
        $start.RedirectStandardInput = $true; $start.RedirectStandardOutput = $true; $start.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($start)
        [pscustomobject]@{ Process = $process; Lines = [Collections.Generic.List[string]]::new(); Pending = $process.StandardOutput.ReadLineAsync(); Error = $process.StandardError.ReadToEndAsync() }
    }
    function Wait-ChildLine($Child, [string] $Pattern, [TimeSpan] $Timeout) {
        $deadline = [DateTime]::UtcNow + $Timeout
        while ([DateTime]::UtcNow -lt $deadline) {
            if ($Child.Pending.Wait(200)) {
                $line = $Child.Pending.Result
                if ($null -eq $line) { break }
                $Child.Lines.Add($line)
                $Child.Pending = $Child.Process.StandardOutput.ReadLineAsync()
                if ($line -match $Pattern) { return $line }
            }
        }
        throw "no line matching '$Pattern' within $Timeout; got: $($Child.Lines -join ' | ') $($Child.Error.Result)"
    }
    function Invoke-Runbook([string[]] $Arguments) {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $run = Invoke-ChildPwsh "& '$Runbook' -StateDirectory '$State' -ModulePath '$ModulePath' $($Arguments -join ' ')"
        $run | Add-Member Elapsed $clock.Elapsed -PassThru |
            Add-Member Lines @($run.Output -split "`r?`n" | Where-Object { $_ }) -PassThru
    }
}

AfterAll {
    Get-ChildItem (Join-Path $State 'instances') -Filter qemu.pid -Recurse -ErrorAction Ignore |
        ForEach-Object { Stop-Process -Id ([int](Get-Content $_)) -ErrorAction Ignore }
    Remove-Module Shellbox -ErrorAction Ignore
    Remove-Item -Recurse -Force $State -ErrorAction Ignore
}

Describe 'The reconcile runbook' {
    It 'reconciles every -Interval for -Duration, fills the pool, writes a line per pass and exits cleanly' {
        $run = Invoke-Runbook @('-Duration', '00:00:20', '-Interval', '00:00:02')

        $run.ExitCode | Should -Be 0
        $run.Error | Should -BeNullOrEmpty
        $passes = @($run.Lines | Where-Object { $_ -match '^pass \d+ at ' })
        $passes.Count | Should -BeGreaterOrEqual 4
        $passes[0] | Should -Match 'create a new instance'
        $passes[-1] | Should -Match 'no changes'
        $run.Lines[-1] | Should -Match "^shellbox runbook: done, $($passes.Count) passes \(0 skipped"
        $run.Elapsed | Should -BeGreaterThan ([TimeSpan]::FromSeconds(17))
        $run.Elapsed | Should -BeLessThan ([TimeSpan]::FromSeconds(90))
        $pools = Get-ShellboxPool -StateDirectory $State
        $instances = $pools | Where-Object Pool -eq 'instance'
        $volumes = $pools | Where-Object Pool -eq 'volume'
        $instances.ReadyPairs | Should -Be 1
        $instances.Free | Should -BeGreaterOrEqual $Bounds.minFreeInstances
        $volumes.Free | Should -BeGreaterOrEqual $Bounds.minFreeVolumes
    }

    It 'loses the lock quietly to a concurrent runbook: every pass says who holds it, no error, nothing changes' {
        # More volumes wanted, so the holder's pass has an action to confirm; it holds the lock at its prompt.
        $more = $Bounds.Clone(); $more.minFreeVolumes = 3
        Set-Bounds $more
        $before = (Get-ShellboxPool -StateDirectory $State | Where-Object Pool -eq 'volume').Total
        $holder = Start-Child @('-Command', "& '$Runbook' -StateDirectory '$State' -ModulePath '$ModulePath' -Duration 00:00:01 -Confirm")
        try {
            Wait-ChildLine $holder 'Yes to All' ([TimeSpan]::FromSeconds(60)) | Out-Null

            $run = Invoke-Runbook @('-Duration', '00:00:05', '-Interval', '00:00:01')

            $run.ExitCode | Should -Be 0
            $run.Error | Should -BeNullOrEmpty
            $passes = @($run.Lines | Where-Object { $_ -match '^pass \d+ at ' })
            $passes.Count | Should -BeGreaterOrEqual 2
            @($passes | Where-Object { $_ -notmatch 'skipped, another reconciler holds the lock \(\w+ on \S+ pid \d+, until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$' }) | Should -BeNullOrEmpty
            $run.Lines[-1] | Should -Match "done, $($passes.Count) passes \($($passes.Count) skipped"
            (Get-ShellboxPool -StateDirectory $State | Where-Object Pool -eq 'volume').Total | Should -Be $before
        }
        finally {
            $holder.Process.StandardInput.WriteLine('L') # No to All: the holder's pass ends and releases the lock
            $holder.Process.WaitForExit(60000) | Out-Null
            if (-not $holder.Process.HasExited) { $holder.Process.Kill() }
        }
        $holder.Process.ExitCode | Should -Be 0

        # Released: the next pass takes the lock and creates the volume.
        $next = Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false
        $next.Skipped | Should -BeFalse
        $next.Planned | Should -Contain 'create a new volume'
        (Get-ShellboxPool -StateDirectory $State | Where-Object Pool -eq 'volume').Total | Should -Be ($before + 1)
    }
}
