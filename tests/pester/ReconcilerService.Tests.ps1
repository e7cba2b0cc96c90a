# The systemd unit of a bastion's reconciler (module/systemd): what the one install command writes, that systemd
# accepts it, and that the loop it runs reconciles and stops cleanly on SIGTERM. systemd itself is not running here
# (nor in CI), so no test starts the unit through systemctl.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ShellboxModulePath
    $script:Installer = Join-Path (Split-Path $ModulePath) 'systemd/Install-ShellboxReconciler.ps1'
    $script:Work = New-TestStateDirectory 'shellbox-systemd'
    Import-Module $ModulePath -Force
    function Install-ToWork([string] $Folder, [string[]] $Extra) {
        $run = Invoke-ChildPwsh ("`$r = & '$Installer' -StateDirectory '$Work/state dir' -UnitDirectory '$Work/$Folder/units' " +
            "-EnvironmentFile '$Work/$Folder/etc/reconcile.env' -Interval 00:00:20 $($Extra -join ' '); `$r | ConvertTo-Json")
        $run.ExitCode | Should -Be 0 -Because $run.Error
        $json = $run.Output.Substring($run.Output.IndexOf('{'))
        [pscustomobject]@{ Run = $run; Result = $json | ConvertFrom-Json }
    }
}

AfterAll {
    Remove-Module Shellbox -ErrorAction Ignore
    Remove-Item -Recurse -Force $Work -ErrorAction Ignore
}

Describe 'Install-ShellboxReconciler.ps1' {
    It '-WhatIf shows the unit and the systemctl commands and writes nothing' {
        $install = Install-ToWork 'whatif' @('-WhatIf')

        $install.Run.Output | Should -Match 'What if: .*Write the unit'
        $install.Result.UnitText | Should -Match '(?m)^Restart=always$'
        $install.Result.UnitText | Should -Match "(?m)^EnvironmentFile=`"$([regex]::Escape("$Work/whatif/etc/reconcile.env"))`"$|^EnvironmentFile=$([regex]::Escape("$Work/whatif/etc/reconcile.env"))$"
        $install.Result.EnvironmentText | Should -Match "(?m)^SHELLBOX_HOME=$([regex]::Escape("$Work/state dir"))$"
        Test-Path "$Work/whatif" | Should -BeFalse
    }

    It '-NoStart writes a unit systemd-analyze verify accepts: this pwsh runs the loop script, restarted always, state from the environment file' {
        $install = Install-ToWork 'nostart' @('-NoStart')

        $unitPath = "$Work/nostart/units/shellbox-reconcile.service"
        $unit = Get-Content -Raw $unitPath
        $unit | Should -Be $install.Result.UnitText
        $unit | Should -Not -Match '@[A-Z_]+@'
        $exec = ($unit -split "`n" | Where-Object { $_ -like 'ExecStart=*' })
        $exec | Should -Match ([regex]::Escape((Join-Path (Split-Path $ModulePath) 'systemd/shellbox-reconcile.ps1')))
        $exec | Should -Match ([regex]::Escape([Environment]::ProcessPath))
        $exec | Should -Match '-Interval 00:00:20$'
        $unit | Should -Match '(?m)^KillMode=process$'
        Get-Content -Raw "$Work/nostart/etc/reconcile.env" | Should -Match "(?m)^SHELLBOX_HOME=$([regex]::Escape("$Work/state dir"))$"
        Get-Command systemd-analyze -ErrorAction Ignore | Should -Not -BeNullOrEmpty -Because 'Bootstrap installs systemd'
        $verify = & systemd-analyze verify $unitPath 2>&1
        $LASTEXITCODE | Should -Be 0 -Because "$verify"
    }
}

Describe 'shellbox-reconcile.ps1 (what the unit runs)' {
    It 'reconciles the state folder named in the environment, a line per pass, and ends cleanly on SIGTERM' {
        $state = Join-Path $Work 'loop-state'
        $pwsh = Get-PwshCommand
        $start = [Diagnostics.ProcessStartInfo]::new($pwsh[0])
        foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', (Join-Path (Split-Path $ModulePath) 'systemd/shellbox-reconcile.ps1'), '-Interval', '00:00:01')) { $start.ArgumentList.Add($a) }
        $start.Environment['SHELLBOX_HOME'] = $state
        $start.RedirectStandardOutput = $true; $start.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($start)
        $lines = [Collections.Generic.List[string]]::new()
        $stderr = $process.StandardError.ReadToEndAsync()
        try {
            # Two pass lines are enough to know it loops; then stop it as systemctl stop would.
            $deadline = [DateTime]::UtcNow.AddSeconds(90)
            while ($lines.Count -lt 2 -and [DateTime]::UtcNow -lt $deadline) {
                $read = $process.StandardOutput.ReadLineAsync()
                if (-not $read.Wait(60000) -or $null -eq $read.Result) { break }
                $line = $read.Result
                if ($line -match '^reconcile [0-9a-f]+: ') { $lines.Add($line) }
            }
            & kill -TERM $process.Id
            $process.WaitForExit(30000) | Should -BeTrue
        }
        finally { if (-not $process.HasExited) { $process.Kill() } }

        $process.ExitCode | Should -Be 0 -Because $stderr.Result
        $lines.Count | Should -BeGreaterOrEqual 2
        $lines[0] | Should -Match 'create a new instance'
        (Get-ShellboxPool -StateDirectory $state | Where-Object Pool -eq 'instance').Total | Should -Be 1
    }
}
