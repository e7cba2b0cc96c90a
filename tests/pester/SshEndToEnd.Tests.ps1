# End to end, as a user meets Shellbox: a real OpenSSH server on 127.0.0.1 whose ForceCommand is the
# wrapper, the real ssh client, real QEMU boxes on the Local provider.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ShellboxModulePath
    $moduleDir = Split-Path $ModulePath
    $script:Work = New-TestStateDirectory 'shellbox-e2e'
    $script:State = Join-Path $Work 'state'
    New-Item -ItemType Directory $State | Out-Null

    # A small pool so the test is quick: one ready pair plus a spare of each. The guest users get: Debian.
    @{ pool = 'Dev'; poolBounds = @{ minFreeInstances = 2; maxFreeInstances = 3; maxTotalInstances = 4; minFreeVolumes = 2; maxFreeVolumes = 4; maxTotalVolumes = 8 }
       local = @{ guest = 'debian'; maxSlots = 4; basePort = (Get-Random -Minimum 30000 -Maximum 32700) } } |
        ConvertTo-Json | Set-Content (Join-Path $State 'shellbox.json')

    # The goldens and control key of the xunit run, linked in when there (a Debian golden takes minutes to build).
    Add-CachedGolden $State

    Import-Module (Join-Path $PSScriptRoot 'SshFixture.psm1') -Force
    $script:Sshd = Start-ShellboxSshd -Work $Work -State $State -ModulePath $ModulePath
    $script:Port = $Sshd.Port
    $script:user = $Sshd.User

    # Golden and a warm pool, through the module as an operator would.
    Import-Module $ModulePath -Force
    New-ShellboxGoldenSnapshot -StateDirectory $State | Out-Null
    Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false | Out-Null
    Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false | Out-Null

    function Invoke-Ssh([string] $Key, [string] $Command) { Invoke-ShellboxSsh $Sshd $Key $Command }
}

AfterAll { Remove-ShellboxSshdState -Sshd $Sshd -State $State -Work $Work }

Describe 'ssh HOST connect NAME through a real sshd' {
    It 'lands alice in her box; a file and a background process survive disconnect and reconnect' {
        $first = Invoke-Ssh alice 'connect dev33 echo persisted > ~/note.txt; setsid sh -c ''while :; do date +%s > /tmp/beat; sleep 1; done'' >/dev/null 2>&1 </dev/null & echo started'
        $first.ExitCode | Should -Be 0 -Because $first.Output
        $first.Output | Should -Match 'started'
        (Get-ShellboxBox -StateDirectory $State -AllUsers | Where-Object Name -eq 'dev33').State | Should -Not -Be 'running'

        $second = Invoke-Ssh alice 'connect dev33 cat ~/note.txt; ps -eo args | grep -c "[s]leep 1\|[w]hile" ; cat /tmp/beat'
        $second.ExitCode | Should -Be 0 -Because $second.Output
        $lines = $second.Output -split "`n"
        $lines[0] | Should -Be 'persisted'
        [int]$lines[1] | Should -BeGreaterThan 0
    }

    It 'lands alice in a Debian 12 system as the login user, with bash, passwordless sudo, apt and a UTF-8 locale, named after the box' {
        $r = Invoke-Ssh alice 'connect dev33 echo "user=$(whoami) home=$HOME pwd=$PWD shell=$SHELL"; bash --version | head -n1; sudo -n true && echo sudo-ok; hostname; . /etc/os-release; echo "os=$ID $VERSION_ID"; apt-get --version | head -n1; ls /etc/apt/sources.list /etc/apt/sources.list.d >/dev/null && echo sources-ok; locale charmap; command -v curl git less vi ps ip ssh /usr/sbin/sshd | wc -l'
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $lines = $r.Output -split "`n"
        $lines[0] | Should -Be 'user=dev home=/home/dev pwd=/home/dev shell=/bin/bash'
        $lines[1] | Should -Match '^GNU bash, version 5'
        $lines[2] | Should -Be 'sudo-ok'
        $lines[3] | Should -Be 'dev33'
        $lines[4] | Should -Be 'os=debian 12'
        $lines[5] | Should -Match '^apt 2\.6'
        $lines[6] | Should -Be 'sources-ok'
        $lines[7] | Should -Be 'UTF-8'
        [int]$lines[8] | Should -Be 8
    }

    It 'passes the exit code of the command in the box back to the ssh client' {
        (Invoke-Ssh alice 'connect dev33 exit 7').ExitCode | Should -Be 7
    }

    It 'keeps users apart: bob neither sees nor reaches alice''s dev33' {
        (Invoke-Ssh bob 'list').Output | Should -Not -Match 'dev33'
        $bob = Invoke-Ssh bob 'connect dev33 cat ~/note.txt 2>&1 || echo missing'
        $bob.Output | Should -Match 'missing'
        $ids = @(Get-ShellboxBox -StateDirectory $State -AllUsers | Where-Object Name -eq 'dev33' | Select-Object -ExpandProperty UserId)
        $ids.Count | Should -Be 2
        (Invoke-Ssh alice 'whoami').Output | Should -BeIn $ids
        (Invoke-Ssh bob 'whoami').Output | Should -BeIn $ids
        (Invoke-Ssh alice 'whoami').Output | Should -Not -Be (Invoke-Ssh bob 'whoami').Output
    }

    It 'refuses hostile commands and names with one line and a non-zero exit, creating nothing' {
        $before = @(Get-ShellboxBox -StateDirectory $State -AllUsers).Count
        foreach ($hostile in @('rm -rf /', 'connect ../etc', 'connect Dev33', 'connect a;reboot', 'connect $(reboot)', 'spinup', 'spinup x y',
                               'connect', ('connect ' + ('a' * 40)), 'list --all', 'whoami; id', "help`tme")) {
            $r = Invoke-Ssh alice $hostile
            $r.ExitCode | Should -Not -Be 0 -Because "'$hostile' must be refused"
            @($r.Output -split "`n").Count | Should -Be 1 -Because "'$hostile' gets one line: $($r.Output)"
            $r.Output | Should -Match '^shellbox: '
        }
        @(Get-ShellboxBox -StateDirectory $State -AllUsers).Count | Should -Be $before
    }

    It 'refuses port forwarding, which would bypass the wrapper and reach the ports of the boxes' {
        # Forward a local port to the bastion's own sshd: if forwarding worked, its banner would come back.
        $local = Get-Random -Minimum 20000 -Maximum 29999
        $forward = Start-Process ssh -PassThru -ArgumentList @('-N', '-i', "$Work/alice", '-p', $Port, '-o', 'StrictHostKeyChecking=no',
            '-o', "UserKnownHostsFile=$Work/known_hosts", '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=QUIET',
            '-L', "127.0.0.1:${local}:127.0.0.1:$Port", "$user@127.0.0.1")
        try {
            $banner = ''
            $deadline = (Get-Date).AddSeconds(10)
            do {
                Start-Sleep -Milliseconds 300
                $client = [Net.Sockets.TcpClient]::new()
                try {
                    $client.Connect('127.0.0.1', $local)
                    $stream = $client.GetStream(); $stream.ReadTimeout = 3000
                    $buffer = [byte[]]::new(64)
                    try { $n = $stream.Read($buffer, 0, 64); $banner = [Text.Encoding]::ASCII.GetString($buffer, 0, $n) } catch { $banner = '' }
                    break
                }
                catch { } finally { $client.Dispose() }
            } while ((Get-Date) -lt $deadline)
            $forward.HasExited | Should -BeFalse -Because 'the client logged in and listens on the local port'
            $banner | Should -Not -Match 'SSH-2.0'
        }
        finally { Stop-Process -Id $forward.Id -ErrorAction Ignore }
    }

    It 'gives an interactive ssh -t session a shell prompt' {
        $session = "sbx$PID"
        $sshCmd = "ssh -t -i $Work/alice -p $Port -o StrictHostKeyChecking=no -o UserKnownHostsFile=$Work/known_hosts -o IdentitiesOnly=yes -o LogLevel=ERROR $user@127.0.0.1 connect dev33"
        & tmux new-session -d -s $session -x 120 -y 30 $sshCmd
        try {
            $deadline = (Get-Date).AddSeconds(60)
            # bash's prompt for the login user: dev@dev33:~$
            do { Start-Sleep -Milliseconds 300; $screen = (& tmux capture-pane -p -t $session) -join "`n" } until ($screen -match 'dev@dev33:~\$\s*$' -or (Get-Date) -gt $deadline)
            $screen | Should -Match 'dev@dev33:~\$\s*$' -Because "a prompt is expected, the screen was: $screen"
            & tmux send-keys -t $session 'echo MARK$((40+2))' Enter
            $deadline = (Get-Date).AddSeconds(20)
            do { Start-Sleep -Milliseconds 300; $screen = (& tmux capture-pane -p -t $session) -join "`n" } until ($screen -match 'MARK42' -or (Get-Date) -gt $deadline)
            $screen | Should -Match 'MARK42'
            & tmux send-keys -t $session 'exit' Enter
            # the session ends when ssh does; the wrapper disconnects on the way out
            $deadline = (Get-Date).AddSeconds(30)
            do { Start-Sleep -Milliseconds 200; & tmux has-session -t $session 2>$null } while ($LASTEXITCODE -eq 0 -and (Get-Date) -lt $deadline)
            (Get-ShellboxBox -StateDirectory $State -AllUsers | Where-Object { $_.Name -eq 'dev33' -and $_.Sessions -gt 0 }) | Should -BeNullOrEmpty
        }
        finally { & tmux kill-session -t $session 2>$null }
    }

    It 'gives the command a terminal when the user''s ssh asked for one (ssh -t HOST connect NAME vim), with the user''s TERM, and none otherwise' {
        # kitty's TERM: the box knows its terminal (ncurses-term), so vim, less and htop run there as in a known one
        $kept = $env:TERM
        $env:TERM = 'xterm-kitty'
        try {
            $out = (& ssh -tt -i "$Work/alice" -p $Port -o StrictHostKeyChecking=no -o "UserKnownHostsFile=$Work/known_hosts" -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR "$user@127.0.0.1" connect dev33 'tty; echo "term=$TERM colors=$(tput colors)"' 2>&1) -join "`n"
        }
        finally { $env:TERM = $kept }
        $LASTEXITCODE | Should -Be 0 -Because $out
        $out | Should -Match '/dev/pts/\d+'
        $out | Should -Match 'term=xterm-kitty colors=256'

        $plain = Invoke-Ssh alice 'connect dev33 tty'
        $plain.ExitCode | Should -Be 1 -Because 'tty exits 1 on a stdin that is no terminal'
        $plain.Output | Should -Be 'not a tty'
    }

    It 'spinup creates a box without connecting, and list shows it' {
        # the scheduled reconciler refills what the connects above took
        Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false | Out-Null
        (Invoke-Ssh alice 'spinup scratch').Output | Should -Be 'created box scratch'
        (Invoke-Ssh alice 'list').Output | Should -Match 'scratch\s+suspended'
    }
}

Describe 'Box cmdlets at an operator prompt' {
    BeforeAll { $PSDefaultParameterValues['*-Shellbox*:StateDirectory'] = $State }
    AfterAll { $PSDefaultParameterValues.Remove('*-Shellbox*:StateDirectory') }

    It 'finds the same golden snapshot on a second New-ShellboxGoldenSnapshot and builds nothing' {
        $goldens = Get-ChildItem (Join-Path $State 'golden') -Directory
        $again = New-ShellboxGoldenSnapshot -Confirm:$false
        $again.Version | Should -Match '^golden-snapshot-[0-9a-f]{12}$'
        $again.Version | Should -BeIn $goldens.Name
        (Get-ChildItem (Join-Path $State 'golden') -Directory).FullName | Should -Be $goldens.FullName
    }

    It 'refuses a bad box name with one sentence and changes nothing' {
        $before = @(Get-ShellboxBox -AllUsers).Count
        foreach ($bad in 'Dev33', '../x', 'a b', ('x' * 33)) {
            $record = $null
            try { New-ShellboxBox -UserId ops -Name $bad -Confirm:$false } catch { $record = $_ }
            $record.FullyQualifiedErrorId | Should -BeLike 'NewShellboxBoxBoxNameInvalid*'
            $record.Exception.Message | Should -Match "is not a valid box name"
            $record.Exception.Message | Should -Not -Match "`n"
        }
        @(Get-ShellboxBox -AllUsers).Count | Should -Be $before
    }

    It 'runs one command in a box with Connect-ShellboxBox -Command and sets $LASTEXITCODE' {
        Invoke-ShellboxPoolReconcile -Confirm:$false | Out-Null
        Connect-ShellboxBox -UserId ops -Name tools -Command 'exit 3' -Confirm:$false
        $LASTEXITCODE | Should -Be 3
        (Get-ShellboxBox -UserId ops -Name tools).State | Should -Be 'suspended'
    }

    It 'brings back a box whose saved state will not load: its user is told to ask, the operator boots it from its disk with -ColdBoot' {
        $made = Invoke-Ssh alice 'connect broken echo kept > ~/file.txt && sync'
        $made.ExitCode | Should -Be 0 -Because $made.Output
        $box = Get-ShellboxBox -AllUsers | Where-Object Name -eq 'broken'
        $box.State | Should -Be 'suspended'

        # Damaged past QEMU's header, written as a new file (never through a link to another volume's copy).
        $saved = Join-Path $State "volumes/$($box.VolumeId)/device.state"
        $bytes = [IO.File]::ReadAllBytes($saved)
        $noise = [byte[]]::new($bytes.Length - 8)
        [Random]::new(5).NextBytes($noise)
        [Array]::Copy($noise, 0, $bytes, 8, $noise.Length)
        Remove-Item $saved
        [IO.File]::WriteAllBytes($saved, $bytes)

        # The user gets one line to take to the operator (no paths); nothing is booted over the state.
        $refused = Invoke-Ssh alice 'connect broken true'
        $refused.ExitCode | Should -Not -Be 0
        $refused.Output | Should -Match '^shellbox: the box''s saved running state will not load \(DeviceStateInvalid at [^)]+\); its files are safe: ask the operator to start it from its disk\.$'
        (Get-ShellboxBox -UserId $box.UserId -Name broken).State | Should -Be 'suspended'
        [IO.File]::ReadAllBytes($saved).Length | Should -Be $bytes.Length -Because 'the refused state is left as it was'

        # The operator's own connect says what to do, and doing it brings the box back with its files.
        $err = { Connect-ShellboxBox -UserId $box.UserId -Name broken -Command true -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'ConnectShellboxBoxDeviceStateInvalid*'
        $err.Exception.Message | Should -Match "Connect-ShellboxBox broken -UserId $($box.UserId) -ColdBoot"
        Connect-ShellboxBox -UserId $box.UserId -Name broken -ColdBoot -Force -Command 'grep -qx kept ~/file.txt' -Confirm:$false -WarningVariable told
        $LASTEXITCODE | Should -Be 0 -Because 'the file on its disk is there after the boot from disk'
        "$told" | Should -Match 'started fresh from its disk, as asked'

        # From then on it suspends and resumes as any box, for its user too.
        $back = Invoke-Ssh alice 'connect broken cat ~/file.txt'
        $back.ExitCode | Should -Be 0 -Because $back.Output
        $back.Output | Should -Be 'kept'
    }

    It 'tells the user of a box saved under other machine settings to ask the operator, in one line without the details' {
        $made = Invoke-Ssh alice 'connect moved true'
        $made.ExitCode | Should -Be 0 -Because $made.Output
        $config = Join-Path $State 'shellbox.json'
        $kept = Get-Content -Raw $config
        try {
            $settings = $kept | ConvertFrom-Json
            $settings.local | Add-Member -NotePropertyName memoryMiB -NotePropertyValue 576 -Force
            $settings | ConvertTo-Json -Depth 5 | Set-Content $config

            $refused = Invoke-Ssh alice 'connect moved true'
            $refused.ExitCode | Should -Not -Be 0
            $refused.Output | Should -Match '^shellbox: the box''s saved running state will not load \(MachineMismatch at [^)]+\); its files are safe: ask the operator to start it from its disk\.$'
        }
        finally { [IO.File]::WriteAllText($config, $kept) }

        $back = Invoke-Ssh alice 'connect moved true'
        $back.ExitCode | Should -Be 0 -Because 'with the settings it was saved under, the box resumes as before'
    }

    It 'completes box names on Tab for the given user' {
        $line = "Connect-ShellboxBox -StateDirectory '$State' -UserId ops -Name to"
        $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $completions | Should -Be @('tools')
    }

    It 'pipes Get-ShellboxBox into Remove-ShellboxBox, which deletes the box and its volume' {
        $box = Get-ShellboxBox -UserId ops -Name tools
        $volumeFolder = Join-Path $State "volumes/$($box.VolumeId)"
        Test-Path $volumeFolder | Should -BeTrue
        Get-ShellboxBox -UserId ops -Name tools | Remove-ShellboxBox -Force
        Get-ShellboxBox -UserId ops -Name tools -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path $volumeFolder | Should -BeFalse
    }

    It 'says clearly when there is nothing to disconnect or remove' {
        { Disconnect-ShellboxBox -UserId ops -Name nothing -ErrorAction Stop } | Should -Throw '*holds no open connection*'
        { Remove-ShellboxBox -UserId ops -Name nothing -Force -ErrorAction Stop } | Should -Throw "*no box 'nothing'*"
    }
}
