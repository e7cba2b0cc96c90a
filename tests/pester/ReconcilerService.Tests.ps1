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

Describe 'the front door''s unit (Install-ShellboxReconciler.ps1 -Service FrontDoor) and what it runs' {
    It '-NoStart writes a unit systemd-analyze verify accepts, running the front door script with the state folder of its environment file' {
        $run = Invoke-ChildPwsh ("`$r = & '$Installer' -Service FrontDoor -StateDirectory '$Work/state dir' -UnitDirectory '$Work/door/units' " +
            "-EnvironmentFile '$Work/door/etc/frontdoor.env' -NoStart; `$r | ConvertTo-Json")
        $run.ExitCode | Should -Be 0 -Because $run.Error
        $unitPath = "$Work/door/units/shellbox-frontdoor.service"
        $unit = Get-Content -Raw $unitPath
        $unit | Should -Not -Match '@[A-Z_]+@'
        ($unit -split "`n" | Where-Object { $_ -like 'ExecStart=*' }) | Should -Match ([regex]::Escape((Join-Path (Split-Path $ModulePath) 'systemd/shellbox-frontdoor.ps1')))
        $unit | Should -Match '(?m)^KillMode=process$'
        Get-Content -Raw "$Work/door/etc/frontdoor.env" | Should -Match "(?m)^SHELLBOX_HOME=$([regex]::Escape("$Work/state dir"))$"
        $verify = & systemd-analyze verify $unitPath 2>&1
        $LASTEXITCODE | Should -Be 0 -Because "$verify"

        $refused = Invoke-ChildPwsh "& '$Installer' -Service FrontDoor -Interval 00:00:20 -UnitDirectory '$Work/door2/units' -EnvironmentFile '$Work/door2/env' -NoStart"
        $refused.ExitCode | Should -Not -Be 0
        Test-Path "$Work/door2" | Should -BeFalse -Because 'a refused install writes nothing'
    }

    It 'serves on the socket in the state folder, a line per request, and ends cleanly on SIGTERM, taking its socket with it' {
        $state = Join-Path $Work 'door-state'
        $pwsh = Get-PwshCommand
        $start = [Diagnostics.ProcessStartInfo]::new($pwsh[0])
        foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', (Join-Path (Split-Path $ModulePath) 'systemd/shellbox-frontdoor.ps1'), '-DrainTimeout', '00:00:05')) { $start.ArgumentList.Add($a) }
        $start.Environment['SHELLBOX_HOME'] = $state
        $start.RedirectStandardOutput = $true; $start.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($start)
        $stderr = $process.StandardError.ReadToEndAsync()
        $stdout = $process.StandardOutput.ReadToEndAsync()
        $socket = Join-Path $state 'frontdoor.sock'
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not (Test-Path $socket) -and [DateTime]::UtcNow -lt $deadline -and -not $process.HasExited) { Start-Sleep -Milliseconds 100 }
            Test-Path $socket | Should -BeTrue -Because $(if ($process.HasExited) { $stderr.Result } else { 'it listens within 60 s' })
            # The wrapper's compiled half asks it, as a login would (the key is made up: whoami derives the id from it).
            [void][Reflection.Assembly]::LoadFrom((Join-Path (Split-Path $ModulePath) 'Shellbox.PowerShell.dll'))
            $key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'
            [Shellbox.PowerShell.FrontDoor.SshWrapper]::TryFrontDoor($socket, $key, 'list') | Should -Be 0
            & kill -TERM $process.Id
            $process.WaitForExit(30000) | Should -BeTrue
        }
        finally { if (-not $process.HasExited) { $process.Kill() } }

        $process.ExitCode | Should -Be 0 -Because $stderr.Result
        $stdout.Result | Should -Match 'front door: list exit=0'
        $stdout.Result | Should -Match 'stopped listening'
        Test-Path $socket | Should -BeFalse
    }
}
