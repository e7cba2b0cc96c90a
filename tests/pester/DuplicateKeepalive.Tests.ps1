# `ssh HOST duplicate NAME NEW` and `ssh HOST keepalive NAME DURATION` as a user meets them: a real OpenSSH
# server on 127.0.0.1 whose ForceCommand is the wrapper, the real ssh client, real QEMU boxes (Local provider).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ShellboxModulePath
    $script:Work = New-TestStateDirectory 'shellbox-dupkeep'
    $script:State = Join-Path $Work 'state'
    New-Item -ItemType Directory $State | Out-Null
    @{ pool = 'Dev'; poolBounds = @{ minFreeInstances = 2; maxFreeInstances = 3; maxTotalInstances = 4; minFreeVolumes = 2; maxFreeVolumes = 4; maxTotalVolumes = 12 }
       local = @{ guest = 'minimal'; maxSlots = 4; basePort = (Get-Random -Minimum 30000 -Maximum 32700) } } |
        ConvertTo-Json | Set-Content (Join-Path $State 'shellbox.json')

    Import-Module (Join-Path $PSScriptRoot 'SshFixture.psm1') -Force
    $script:Sshd = Start-ShellboxSshd -Work $Work -State $State -ModulePath $ModulePath
    Import-Module $ModulePath -Force
    New-ShellboxGoldenSnapshot -StateDirectory $State | Out-Null
    Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false | Out-Null
    Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false | Out-Null

    function Invoke-Ssh([string] $Key, [string] $Command) { Invoke-ShellboxSsh $Sshd $Key $Command }
    function Get-Box([string] $Name) { Get-ShellboxBox -StateDirectory $State -AllUsers | Where-Object Name -eq $Name }

    # The host key a box's volume has pinned (made at its first resume).
    function Get-HostKey([string] $Name) { (Get-Content -Raw (Join-Path $State 'volumes' (Get-Box $Name).VolumeId 'meta.json') | ConvertFrom-Json).hostKey }

    # Starts a counter in the box, detached from the session; the in-box test below checks it moves on.
    $script:StartCounter = 'setsid sh -c ''i=0; while true; do i=$((i+1)); echo $i > ~/count; sleep 1; done'' </dev/null >/dev/null 2>&1 &'
    $script:CheckCounting = 'a=$(cat ~/count); sleep 3; b=$(cat ~/count); if [ "$b" -gt "$a" ]; then echo counting; else echo stopped; fi'
}

AfterAll { Remove-ShellboxSshdState -Sshd $Sshd -State $State -Work $Work }

Describe 'ssh HOST duplicate NAME NEW' {
    It 'copies a suspended box with its files and its running programs; the two then go separate ways with their own host keys' {
        $first = Invoke-Ssh alice "connect src echo one > ~/before; $StartCounter echo started"
        $first.ExitCode | Should -Be 0 -Because $first.Output
        (Get-Box src).State | Should -Be 'suspended'

        $dup = Invoke-Ssh alice 'duplicate src cp'
        $dup.ExitCode | Should -Be 0 -Because $dup.Output
        $dup.Output | Should -Be 'duplicated box src into cp (suspended; connect to it to resume)'
        (Get-Box cp).State | Should -Be 'suspended'

        $inCopy = Invoke-Ssh alice "connect cp cat ~/before; $CheckCounting; echo two > ~/after"
        $inCopy.ExitCode | Should -Be 0 -Because $inCopy.Output
        ($inCopy.Output -split "`n") | Should -Be @('one', 'counting')

        $inSource = Invoke-Ssh alice "connect src test -e ~/after && echo present || echo absent; $CheckCounting"
        ($inSource.Output -split "`n") | Should -Be @('absent', 'counting')
        Get-HostKey cp | Should -Not -BeNullOrEmpty
        Get-HostKey cp | Should -Not -Be (Get-HostKey src)
        (Invoke-Ssh alice 'list').Output | Should -Match '(?m)^cp\s'
    }

    It 'pauses a running box for the copy and lets it go on: the session connected meanwhile finishes normally' {
        $sshArgs = @('-i', "$Work/alice", '-p', $Sshd.Port, '-o', 'StrictHostKeyChecking=no', '-o', "UserKnownHostsFile=$Work/known_hosts", '-o', 'IdentitiesOnly=yes',
            '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', "$($Sshd.User)@127.0.0.1", "connect live echo one > ~/before; $StartCounter sleep 12; $CheckCounting")
        $session = Start-Process ssh -ArgumentList $sshArgs -PassThru -RedirectStandardOutput "$Work/live.out" -RedirectStandardError "$Work/live.err"
        $deadline = (Get-Date).AddSeconds(60)
        while ((Get-Box live).State -ne 'running' -or (Get-Box live).Sessions -lt 1) {
            if ((Get-Date) -gt $deadline) { throw "box live never ran: $(Get-Content -Raw "$Work/live.err")" }
            Start-Sleep -Milliseconds 200
        }
        Start-Sleep -Seconds 2

        $dup = Invoke-Ssh alice 'duplicate live fork'

        $dup.ExitCode | Should -Be 0 -Because $dup.Output
        $session.WaitForExit(60000) | Should -BeTrue
        $session.ExitCode | Should -Be 0 -Because (Get-Content -Raw "$Work/live.err")
        (Get-Content "$Work/live.out") | Should -Be 'counting'
        $inFork = Invoke-Ssh alice "connect fork cat ~/before; $CheckCounting"
        ($inFork.Output -split "`n") | Should -Be @('one', 'counting')
        Get-HostKey fork | Should -Not -Be (Get-HostKey live)
    }

    It 'refuses bad duplicates with one line and a non-zero exit, changing nothing' {
        $before = @(Get-ShellboxBox -StateDirectory $State -AllUsers | ForEach-Object { "$($_.UserId)/$($_.Name)/$($_.VolumeId)" })
        foreach ($bad in @('duplicate', 'duplicate src', 'duplicate src Bad_Name', 'duplicate src a;b', 'duplicate nothere copy1', 'duplicate src cp',
                           'duplicate src src', ('duplicate src ' + ('a' * 40)), 'duplicate src x y')) {
            $r = Invoke-Ssh alice $bad
            $r.ExitCode | Should -Not -Be 0 -Because "'$bad' must be refused"
            @($r.Output -split "`n").Count | Should -Be 1 -Because "'$bad' gets one line: $($r.Output)"
            $r.Output | Should -Match '^shellbox: '
        }
        (Invoke-Ssh bob 'duplicate src stolen').Output | Should -Match "^shellbox: There is no box 'src'"
        @(Get-ShellboxBox -StateDirectory $State -AllUsers | ForEach-Object { "$($_.UserId)/$($_.Name)/$($_.VolumeId)" }) | Should -Be $before
    }
}

Describe 'ssh HOST keepalive NAME DURATION' {
    BeforeAll {
        # The duplicates above took the pool's volumes: refill it (make, then pair).
        Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false | Out-Null
        Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false | Out-Null
    }

    It 'keeps the box running after its last session leaves, until reconcile suspends it once the keepalive has run out' {
        (Invoke-Ssh alice 'keepalive bg 1h').ExitCode | Should -Not -Be 0 # no such box yet
        $spinup = Invoke-Ssh alice 'spinup bg'
        $spinup.ExitCode | Should -Be 0 -Because $spinup.Output
        $set = Invoke-Ssh alice 'keepalive bg 8s'
        $set.ExitCode | Should -Be 0 -Because $set.Output
        $set.Output | Should -Be 'box bg keeps running up to 8s after its last session leaves'
        (Get-Box bg).Keepalive | Should -Be '8s'

        $started = Invoke-Ssh alice "connect bg $StartCounter echo started"
        $started.ExitCode | Should -Be 0 -Because $started.Output
        $kept = Get-Box bg
        $kept.State | Should -Be 'running'
        $kept.Sessions | Should -Be 0
        $kept.KeptAliveUntil | Should -Not -BeNullOrEmpty

        # The user sees it too: the setting, until when the box runs with nobody connected, and when its RAM is saved.
        $info = Invoke-Ssh alice 'info bg'
        $info.Output | Should -Match '(?m)^keepalive:\s+8s after its last session leaves; running with nobody connected until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$'
        $info.Output | Should -Match '(?m)^RAM state:\s+live in the running box; saved to its volume when its keepalive runs out'
        $json = (Invoke-Ssh alice 'info bg --json').Output | ConvertFrom-Json
        $json.keepalive | Should -Be '8s'
        [DateTimeOffset]::Parse($json.keptAliveUntil) | Should -BeGreaterThan ([DateTimeOffset]::UtcNow.AddSeconds(-1))

        # Nobody is connected and its background job goes on; a connect now joins the running box.
        $joined = Invoke-Ssh alice "connect bg $CheckCounting"
        $joined.Output | Should -Be 'counting'

        Start-Sleep -Seconds 9
        Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false | Out-Null
        (Get-Box bg).State | Should -Be 'suspended'
        (Get-Box bg).Keepalive | Should -Be '8s' # the setting stays for the next disconnect
    }

    It 'off restores suspend on disconnect and suspends a box kept running with nobody connected' {
        (Invoke-Ssh alice 'keepalive src 2h').ExitCode | Should -Be 0
        (Invoke-Ssh alice 'connect src true').ExitCode | Should -Be 0
        (Get-Box src).State | Should -Be 'running'

        $off = Invoke-Ssh alice 'keepalive src off'

        $off.ExitCode | Should -Be 0 -Because $off.Output
        $off.Output | Should -Be 'keepalive off: box src is suspended when its last session leaves'
        (Get-Box src).State | Should -Be 'suspended'
        (Invoke-Ssh alice 'connect src true').ExitCode | Should -Be 0
        (Get-Box src).State | Should -Be 'suspended' # the default again
    }

    It 'refuses bad keepalives with one line and a non-zero exit, changing nothing' {
        foreach ($bad in @('keepalive', 'keepalive src', 'keepalive src forever', 'keepalive src 9h', 'keepalive src 0s', 'keepalive src -1h',
                           'keepalive Src 1h', 'keepalive nothere 1h', 'keepalive src 1h extra', 'keepalive src 1h;reboot')) {
            $r = Invoke-Ssh alice $bad
            $r.ExitCode | Should -Not -Be 0 -Because "'$bad' must be refused"
            @($r.Output -split "`n").Count | Should -Be 1 -Because "'$bad' gets one line: $($r.Output)"
            $r.Output | Should -Match '^shellbox: '
        }
        (Invoke-Ssh alice 'keepalive src 9h').Output | Should -Be 'shellbox: keepalive 9h is longer than this service allows (4h).'
        (Get-Box src).Keepalive | Should -Be 'off'
    }
}
