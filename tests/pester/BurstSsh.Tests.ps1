# A burst of new users through the real front door (issue 9, part 3): sshd with the wrapper as its
# ForceCommand, the real ssh client, real QEMU boxes on the Local provider. More callers than the pool has
# room for: as many succeed as there is room, every other caller gets one line on stderr (pool exhausted, try
# again in the pool's CheckInterval) and a non-zero exit, and nothing is claimed twice.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ShellboxModulePath
    $script:Work = New-TestStateDirectory 'shellbox-burst'
    $script:State = Join-Path $Work 'state'
    New-Item -ItemType Directory $State | Out-Null

    # Room for exactly three new boxes: three volumes in all and no more may be made (a box that ran and left
    # frees its instance, never its volume), three slots. The check interval is not a Dev or Prod figure, so
    # the retry hint can only come from it.
    $script:Room = 3
    $script:CheckIntervalSeconds = 17
    @{ pool = 'Dev'
       poolBounds = @{ minFreeInstances = $Room; maxFreeInstances = $Room; maxTotalInstances = $Room
                       minFreeVolumes = $Room; maxFreeVolumes = $Room; maxTotalVolumes = $Room; checkIntervalSeconds = $CheckIntervalSeconds }
       local = @{ maxSlots = $Room; basePort = (Get-Random -Minimum 32800 -Maximum 34800) } } |
        ConvertTo-Json | Set-Content (Join-Path $State 'shellbox.json')

    Import-Module (Join-Path $PSScriptRoot 'SshFixture.psm1') -Force
    $script:Sshd = Start-ShellboxSshd -Work $Work -State $State -ModulePath $ModulePath -Users @('burst')

    Import-Module $ModulePath -Force
    New-ShellboxGoldenSnapshot -StateDirectory $State | Out-Null
    Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false | Out-Null
    Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false | Out-Null
}

AfterAll { Remove-ShellboxSshdState -Sshd $Sshd -State $State -Work $Work }

Describe 'a burst of new boxes through the real sshd' {
    It 'lets in as many as there is room for and tells every other caller, in one line, when to try again' {
        $volumes = Get-ShellboxPool -StateDirectory $State | Where-Object Pool -eq 'volume'
        $volumes.Free | Should -Be $Room -Because 'the pool was filled before the burst'

        # Twelve ssh clients at once, each for its own new box; each one's stdout and stderr kept apart.
        $callers = 12
        $sshArgs = @('-i', (Join-Path $Work 'burst'), '-p', $Sshd.Port, '-o', 'StrictHostKeyChecking=no', '-o', "UserKnownHostsFile=$Work/known_hosts",
            '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', "$($Sshd.User)@127.0.0.1")
        $runs = foreach ($i in 1..$callers) {
            $out = Join-Path $Work "burst$i.out"; $err = Join-Path $Work "burst$i.err"
            $p = Start-Process ssh -ArgumentList ($sshArgs + "connect burst$i true") -PassThru -RedirectStandardOutput $out -RedirectStandardError $err
            [pscustomobject]@{ Name = "burst$i"; Process = $p; Out = $out; Err = $err }
        }
        foreach ($r in $runs) { $r.Process.WaitForExit(120000) | Should -BeTrue -Because "$($r.Name) must finish" }

        $won = @($runs | Where-Object { $_.Process.ExitCode -eq 0 })
        $refused = @($runs | Where-Object { $_.Process.ExitCode -ne 0 })
        $won.Count | Should -Be $Room -Because (($runs | ForEach-Object { "$($_.Name)=$($_.Process.ExitCode): $(Get-Content -Raw $_.Err)" }) -join '; ')
        $refused.Count | Should -Be ($callers - $Room)
        foreach ($r in $refused) {
            $lines = @(Get-Content $r.Err | Where-Object { $_ -ne '' })
            $lines.Count | Should -Be 1 -Because "$($r.Name) gets one line: $($lines -join ' | ')"
            $lines[0] | Should -Match 'Pool exhausted'
            $lines[0] | Should -Match "try again in $CheckIntervalSeconds s"
        }

        # No double claim: one box per winner, each on its own volume; the refused created nothing.
        $boxes = @(Get-ShellboxBox -StateDirectory $State -AllUsers)
        @($boxes.Name | Sort-Object) | Should -Be @($won.Name | Sort-Object)
        @($boxes.VolumeId | Sort-Object -Unique).Count | Should -Be $Room
        $boxes | ForEach-Object { $_.State | Should -Not -Be 'running' -Because "$($_.Name) ran true and left" }

        $pool = Get-ShellboxPool -StateDirectory $State
        $instances = $pool | Where-Object Pool -eq 'instance'
        $volumes = $pool | Where-Object Pool -eq 'volume'
        $instances.InUse | Should -Be 0 -Because 'every winner disconnected'
        $instances.Free | Should -Be $instances.Total
        $volumes.Free | Should -Be 0 -Because 'the three volumes belong to the three boxes'
        $volumes.Total | Should -Be $Room
    }
}
