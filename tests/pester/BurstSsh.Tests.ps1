# An empty pool slows a connect down, it does not fail it (issue 10, part 4), through the real front door: sshd
# with the wrapper as its ForceCommand, the real ssh client, real QEMU boxes on the Local provider. A connect that
# finds nothing ready is made its box after one line on stderr ("making your box, about N s"); a burst beyond the
# pool's total caps gets one line each (at capacity, retry in the pool's CheckInterval) and a non-zero exit; nothing
# is claimed twice and no cap is passed.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ShellboxModulePath
    $script:Work = New-TestStateDirectory 'shellbox-burst'
    $script:State = Join-Path $Work 'state'
    New-Item -ItemType Directory $State | Out-Null

    # Caps of three instances and three volumes (a box that ran and left frees its instance, never its volume), three
    # slots; nothing kept warm, so every box is made on demand (the minimal guest: a Debian golden per test state takes
    # minutes). The check interval is not a Dev or Prod figure, so the retry hint can only come from it.
    $script:Cap = 3
    $script:CheckIntervalSeconds = 17
    @{ pool = 'Dev'
       poolBounds = @{ minFreeInstances = 0; maxFreeInstances = $Cap; maxTotalInstances = $Cap
                       minFreeVolumes = 0; maxFreeVolumes = $Cap; maxTotalVolumes = $Cap; checkIntervalSeconds = $CheckIntervalSeconds }
       local = @{ guest = 'minimal'; maxSlots = $Cap; basePort = (Get-Random -Minimum 32800 -Maximum 34800) } } |
        ConvertTo-Json | Set-Content (Join-Path $State 'shellbox.json')

    Import-Module (Join-Path $PSScriptRoot 'SshFixture.psm1') -Force
    $script:Sshd = Start-ShellboxSshd -Work $Work -State $State -ModulePath $ModulePath -Users @('burst')

    Import-Module $ModulePath -Force
    New-ShellboxGoldenSnapshot -StateDirectory $State | Out-Null

    $script:SshArgs = @('-i', (Join-Path $Work 'burst'), '-p', $Sshd.Port, '-o', 'StrictHostKeyChecking=no', '-o', "UserKnownHostsFile=$Work/known_hosts",
        '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', "$($Sshd.User)@127.0.0.1")

    # Starts one ssh client per command at once, each one's stdout and stderr kept apart; waits for all.
    function Invoke-SshTogether([string[]] $Commands) {
        $i = 0
        $runs = foreach ($command in $Commands) {
            $i++
            $out = Join-Path $Work "run$i.out"; $err = Join-Path $Work "run$i.err"
            $p = Start-Process ssh -ArgumentList ($SshArgs + $command) -PassThru -RedirectStandardOutput $out -RedirectStandardError $err
            [pscustomobject]@{ Command = $command; Name = ($command -split ' ')[1]; Process = $p; Out = $out; Err = $err }
        }
        foreach ($r in $runs) { $r.Process.WaitForExit(180000) | Should -BeTrue -Because "$($r.Command) must finish" }
        foreach ($r in $runs) {
            $r | Add-Member ExitCode $r.Process.ExitCode
            $r | Add-Member StdOut @(Get-Content $r.Out | Where-Object { $_ -ne '' })
            $r | Add-Member StdErr @(Get-Content $r.Err | Where-Object { $_ -ne '' })
        }
        $runs
    }
}

AfterAll { Remove-ShellboxSshdState -Sshd $Sshd -State $State -Work $Work }

Describe 'connects to an empty pool through the real sshd' {
    It 'makes a new box after one line on stderr, and the box''s own output stays alone on stdout' {
        (Get-ShellboxPool -StateDirectory $State | Measure-Object -Property Total -Sum).Sum | Should -Be 0 -Because 'the pool is empty: no instance, no volume'

        $made = Invoke-SshTogether @('connect first echo made-here')
        $made.ExitCode | Should -Be 0 -Because ($made.StdErr -join ' | ')
        $made.StdErr.Count | Should -Be 1 -Because "one line before the wait: $($made.StdErr -join ' | ')"
        $made.StdErr[0] | Should -Match '^shellbox: making your box, about \d+ s$'
        $made.StdOut | Should -Be @('made-here')

        # It left: its instance is free again, so coming back takes no slow path and says nothing.
        $back = Invoke-SshTogether @('connect first echo back-again')
        $back.ExitCode | Should -Be 0
        $back.StdErr.Count | Should -Be 0 -Because "a returning box with a free instance is not made: $($back.StdErr -join ' | ')"
        $back.StdOut | Should -Be @('back-again')
    }

    It 'makes boxes up to the caps in a burst and tells every other caller, in one line, when to retry' {
        # One box exists (its volume is one of the three allowed): room for two more volumes, so two more boxes.
        $callers = 10
        $runs = Invoke-SshTogether @(1..$callers | ForEach-Object { "connect burst$_ true" })

        $won = @($runs | Where-Object ExitCode -eq 0)
        $refused = @($runs | Where-Object ExitCode -ne 0)
        $won.Count | Should -Be ($Cap - 1) -Because (($runs | ForEach-Object { "$($_.Name)=$($_.ExitCode): $($_.StdErr -join ' | ')" }) -join '; ')
        foreach ($r in $won) {
            $r.StdErr.Count | Should -Be 1 -Because "$($r.Name) is told once: $($r.StdErr -join ' | ')"
            $r.StdErr[0] | Should -Match '^shellbox: making your box, about \d+ s$'
        }
        foreach ($r in $refused) {
            $r.StdErr.Count | Should -Be 1 -Because "$($r.Name) gets one line: $($r.StdErr -join ' | ')"
            $r.StdErr[0] | Should -Match '^shellbox: At capacity: '
            $r.StdErr[0] | Should -Match "retry in $CheckIntervalSeconds s\.$"
            $r.StdOut.Count | Should -Be 0
        }

        # No double claim and no cap passed: one box per winner, each on its own volume; the refused made nothing.
        $boxes = @(Get-ShellboxBox -StateDirectory $State -AllUsers)
        @($boxes.Name | Sort-Object) | Should -Be @(@('first') + $won.Name | Sort-Object)
        @($boxes.VolumeId | Sort-Object -Unique).Count | Should -Be $Cap
        $boxes | ForEach-Object { $_.State | Should -Not -Be 'running' -Because "$($_.Name) ran true and left" }

        $pool = Get-ShellboxPool -StateDirectory $State
        $instances = $pool | Where-Object Pool -eq 'instance'
        $volumes = $pool | Where-Object Pool -eq 'volume'
        $instances.Total | Should -BeLessOrEqual $Cap
        $instances.InUse | Should -Be 0 -Because 'every winner disconnected'
        $volumes.Total | Should -Be $Cap -Because 'the three volumes belong to the three boxes, and no more were made'
        $volumes.Free | Should -Be 0
    }
}

Describe 'spins up a box on an empty pool through the real sshd' {
    BeforeAll {
        # The connects above left one box per allowed volume. Keep one and remove the rest: room for two more volumes,
        # and no loose volume or ready pair, so every spinup below has to make its volume.
        Get-ShellboxBox -StateDirectory $State -AllUsers | Select-Object -Skip 1 | Remove-ShellboxBox -StateDirectory $State -Force -Confirm:$false
        $script:Kept = @(Get-ShellboxBox -StateDirectory $State -AllUsers)
        function Get-VolumeTotal { (Get-ShellboxPool -StateDirectory $State | Where-Object Pool -eq 'volume').Total }
    }

    It 'makes the volume after one line (on stderr over ssh, a warning from the cmdlet); the box exists and list shows it' {
        $Kept.Count | Should -Be 1
        Get-VolumeTotal | Should -Be 1 -Because 'only the kept box''s volume is left: nothing is loose'

        $made = New-ShellboxBox -StateDirectory $State -UserId 'operator-spinup' -Name 'bycmdlet' -Confirm:$false -WarningVariable told -WarningAction SilentlyContinue
        $made.State | Should -Be 'suspended'
        @($told).Count | Should -Be 1 -Because "the cmdlet warns once before the wait: $($told -join ' | ')"
        "$($told[0])" | Should -Match '^making your box, about \d+ s$'

        $spun = Invoke-SshTogether @('spinup spun')
        $spun.ExitCode | Should -Be 0 -Because ($spun.StdErr -join ' | ')
        $spun.StdErr.Count | Should -Be 1 -Because "one line before the wait: $($spun.StdErr -join ' | ')"
        $spun.StdErr[0] | Should -Match '^shellbox: making your box, about \d+ s$'
        $spun.StdOut | Should -Be @('created box spun')

        $listed = Invoke-SshTogether @('list')
        $listed.ExitCode | Should -Be 0
        @($listed.StdOut | Where-Object { $_ -match '^spun\s+suspended\s+0 session\(s\)$' }).Count | Should -Be 1 -Because ($listed.StdOut -join ' | ')

        # A spinup box does not run: no instance was made or taken for it, and it rests on its own new volume.
        $box = Get-ShellboxBox -StateDirectory $State -AllUsers | Where-Object Name -eq 'spun'
        $box.InstanceId | Should -BeNullOrEmpty
        $box.VolumeId | Should -Not -BeIn @($Kept.VolumeId + $made.VolumeId)
        Get-VolumeTotal | Should -Be $Cap
    }

    It 'at the caps gives one line and a non-zero exit, and creates nothing' {
        $before = @(Get-ShellboxBox -StateDirectory $State -AllUsers | ForEach-Object { "$($_.UserId)/$($_.Name)/$($_.VolumeId)" } | Sort-Object)
        $volumesBefore = @(Get-ChildItem -Force -Directory (Join-Path $State 'volumes') | ForEach-Object Name | Sort-Object)

        $over = Invoke-SshTogether @('spinup over')
        $over.ExitCode | Should -Not -Be 0
        $over.StdErr.Count | Should -Be 1 -Because "one line: $($over.StdErr -join ' | ')"
        $over.StdErr[0] | Should -Match "^shellbox: At capacity: all $Cap volumes .* retry in $CheckIntervalSeconds s\.$"
        $over.StdOut.Count | Should -Be 0

        @(Get-ShellboxBox -StateDirectory $State -AllUsers | ForEach-Object { "$($_.UserId)/$($_.Name)/$($_.VolumeId)" } | Sort-Object) | Should -Be $before
        Get-VolumeTotal | Should -Be $Cap
        @(Get-ChildItem -Force -Directory (Join-Path $State 'volumes') | ForEach-Object Name | Sort-Object) | Should -Be $volumesBefore
        (Invoke-SshTogether @('list')).StdOut -join "`n" | Should -Not -Match '^over\s' -Because 'the refused box does not exist'
    }
}
