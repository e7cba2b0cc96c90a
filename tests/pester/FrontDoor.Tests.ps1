# The resident front door (Start-ShellboxFrontDoor) behind a real sshd: the wrapper hands each login to it over
# its Unix socket, and does the work in its own process again when no front door answers. Real ssh client,
# real sshd, real QEMU boxes (Debian guest) on the Local provider.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ShellboxModulePath
    $script:Work = New-TestStateDirectory 'shellbox-frontdoor'
    $script:State = Join-Path $Work 'state'
    New-Item -ItemType Directory $State | Out-Null
    @{ pool = 'Dev'; poolBounds = @{ minFreeInstances = 1; maxFreeInstances = 2; maxTotalInstances = 4; minFreeVolumes = 1; maxFreeVolumes = 3; maxTotalVolumes = 8 }
       local = @{ guest = 'debian'; maxSlots = 4; basePort = (Get-Random -Minimum 30000 -Maximum 32700) } } |
        ConvertTo-Json | Set-Content (Join-Path $State 'shellbox.json')

    # The goldens and control key of the xunit run, linked in when there (a Debian golden takes minutes to build).
    Add-CachedGolden $State

    Import-Module (Join-Path $PSScriptRoot 'SshFixture.psm1') -Force
    $script:Sshd = Start-ShellboxSshd -Work $Work -State $State -ModulePath $ModulePath -Environment @{ POWERSHELL_TELEMETRY_OPTOUT = '1' }
    Import-Module $ModulePath -Force
    $PSDefaultParameterValues['*-Shellbox*:StateDirectory'] = $State
    $PSDefaultParameterValues['*-Shellbox*:Confirm'] = $false
    New-ShellboxGoldenSnapshot | Out-Null
    Invoke-ShellboxPoolReconcile | Out-Null
    Invoke-ShellboxPoolReconcile | Out-Null
    $script:AliceId = (Get-ShellboxUser -PublicKey (Get-Content (Join-Path $Work 'alice.pub'))).UserId
    $script:Socket = Join-Path $State 'frontdoor.sock'

    # A front door in its own pwsh, as systemd would run it; its verbose lines (one per request) go to LOG.
    function Start-FrontDoor([string] $Log) {
        $pwsh = Get-PwshCommand
        $script = "Import-Module '$ModulePath'; Start-ShellboxFrontDoor -StateDirectory '$State' -DrainTimeout 00:00:20 -Verbose 4>&1 | ForEach-Object { [IO.File]::AppendAllText('$Log', `"`$_`n`") }"
        $start = [Diagnostics.ProcessStartInfo]::new($pwsh[0])
        foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $script)) { $start.ArgumentList.Add($a) }
        $start.RedirectStandardError = $true
        $start.Environment['POWERSHELL_TELEMETRY_OPTOUT'] = '1'
        $process = [Diagnostics.Process]::Start($start)
        $deadline = (Get-Date).AddSeconds(60)
        while (-not ((Test-Path $Socket) -and (Test-Path $Log) -and (Get-Content $Log -Raw) -match 'listening')) {
            if ($process.HasExited) { throw "the front door ended: $($process.StandardError.ReadToEnd())" }
            if ((Get-Date) -gt $deadline) { throw 'the front door did not start listening within 60 s' }
            Start-Sleep -Milliseconds 100
        }
        $process
    }

    function Wait-BoxState([string] $Name, [string] $State, [int] $Seconds = 60) {
        $deadline = (Get-Date).AddSeconds($Seconds)
        while ((Get-ShellboxBox -UserId $AliceId -Name $Name).State -ne $State) {
            if ((Get-Date) -gt $deadline) { throw "box $Name did not become $State within $Seconds s (it is $((Get-ShellboxBox -UserId $AliceId -Name $Name).State))" }
            Start-Sleep -Milliseconds 200
        }
    }

    # The pool here is small: a connect may first say "making your box, about N s" (the slow path); that line is
    # the slow path's test, not this file's, so it is left out of what these tests compare.
    function Invoke-Ssh([string] $Key, [string] $Command) {
        $r = Invoke-ShellboxSsh $Sshd $Key $Command
        $r.Output = @($r.Output -split "`n" | Where-Object { $_ -notmatch '^shellbox: making your box, about \d+ s$' }) -join "`n"
        $r
    }
    $script:Log = Join-Path $Work 'frontdoor.log'
    $script:FrontDoor = Start-FrontDoor $Log
}

AfterAll {
    if ($FrontDoor -and -not $FrontDoor.HasExited) { $FrontDoor.Kill() }
    try { Remove-ShellboxSshdState -Sshd $Sshd -State $State -Work $Work }
    finally {
        # One Pester process runs every file: defaults left here would point the next files' cmdlets at this state.
        $PSDefaultParameterValues.Remove('*-Shellbox*:StateDirectory')
        $PSDefaultParameterValues.Remove('*-Shellbox*:Confirm')
    }
}

Describe 'the front door behind sshd' {
    It 'answers the verbs, the same lines as the wrapper alone, each request one line in its log' {
        (Invoke-Ssh alice 'whoami').Output | Should -Be $AliceId
        (Invoke-Ssh alice 'list --json').Output | Should -Be '[]'
        (Invoke-Ssh alice 'help').Output | Should -Match '(?m)^  connect NAME \[COMMAND\.\.\.\]'
        foreach ($bad in 'connect Bad', 'help me', 'no-such-verb', 'keepalive x forever', 'info nosuch') {
            $r = Invoke-Ssh alice $bad
            $r.ExitCode | Should -Not -Be 0 -Because "'$bad' must be refused"
            @($r.Output -split "`n").Count | Should -Be 1 -Because "'$bad' gets one line: $($r.Output)"
            $r.Output | Should -Match '^shellbox: '
        }
        (Invoke-Ssh alice 'info nosuch').Output | Should -Match "no box 'nosuch'"
        $empty = Invoke-Ssh alice ''
        $empty.ExitCode | Should -Be 2
        $empty.Output | Should -Match '^usage: ssh HOST COMMAND'
        Get-ShellboxBox -UserId $AliceId | Should -BeNullOrEmpty -Because 'bad input changes nothing'
        $log = Get-Content $Log -Raw
        $log | Should -Match 'front door: whoami exit=0'
        $log | Should -Match 'front door: connect exit=2'
        $log | Should -Match 'front door: info exit=1'
    }

    It 'connects: the box command''s output and exit code come back, the box is suspended after, and its files are kept' {
        $first = Invoke-Ssh alice 'connect fd1 echo kept > ~/note.txt; hostname; exit 7'
        $first.ExitCode | Should -Be 7 -Because $first.Output
        $first.Output | Should -Be 'fd1'
        Wait-BoxState fd1 'suspended'
        (Get-ShellboxBox -UserId $AliceId -Name fd1).Sessions | Should -Be 0

        $second = Invoke-Ssh alice 'connect fd1 cat ~/note.txt'
        $second.ExitCode | Should -Be 0 -Because $second.Output
        $second.Output | Should -Be 'kept'
        Get-Content $Log -Raw | Should -Match 'front door: connect correlation=\S+ path=returning'
        Wait-BoxState fd1 'suspended'
    }

    It 'takes a connect that comes right after the last session left, while the front door is still releasing it' {
        $r = 1..3 | ForEach-Object { Invoke-Ssh alice "connect fd2 echo round$_" }
        $r.ExitCode | Should -Be @(0, 0, 0) -Because ($r.Output -join ' | ')
        $r.Output | Should -Be @('round1', 'round2', 'round3')
        Wait-BoxState fd2 'suspended'
        (Get-ShellboxBox -UserId $AliceId -Name fd2).Sessions | Should -Be 0
    }

    It 'releases the box when the user''s connection drops mid-session' {
        # -tt: a terminal, as a user's interactive session has; sshd hangs up on the session when the connection drops.
        $sshArgs = @('-tt', '-i', (Join-Path $Work 'alice'), '-p', $Sshd.Port, '-o', 'StrictHostKeyChecking=no', '-o', "UserKnownHostsFile=$Work/known_hosts",
            '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', "$($Sshd.User)@127.0.0.1", 'connect fd3 sleep 300')
        $client = Start-Process ssh -ArgumentList $sshArgs -PassThru -RedirectStandardOutput (Join-Path $Work 'fd3.out') -RedirectStandardError (Join-Path $Work 'fd3.err')
        $deadline = (Get-Date).AddSeconds(60)
        while (-not (Get-ShellboxBox -UserId $AliceId -Name fd3 -ErrorAction Ignore) -or (Get-ShellboxBox -UserId $AliceId -Name fd3).Sessions -ne 1) {
            if ((Get-Date) -gt $deadline -or $client.HasExited) { throw "the session did not open: $(Get-Content (Join-Path $Work 'fd3.err') -Raw)" }
            Start-Sleep -Milliseconds 200
        }
        Stop-Process -Id $client.Id # the user's ssh is gone: sshd hangs up on the wrapper and the box's ssh
        Wait-BoxState fd3 'suspended'
        (Get-ShellboxBox -UserId $AliceId -Name fd3).Sessions | Should -Be 0
        Get-Content $Log -Raw | Should -Match 'ended \(closed\)'
    }

    It 'refuses a blocked key with one line, the same as without a front door' {
        Block-ShellboxUser -UserId $AliceId -Reason 'pester' | Out-Null
        try {
            $r = Invoke-Ssh alice 'connect fd1 true'
            $r.ExitCode | Should -Be 1
            $r.Output | Should -BeExactly 'shellbox: this key is blocked; contact the operator'
        }
        finally { Unblock-ShellboxUser -UserId $AliceId | Out-Null }
    }

    It 'refuses a second front door on the same socket and leaves the first one serving' {
        $second = Invoke-ChildPwsh "Import-Module '$ModulePath'; Start-ShellboxFrontDoor -StateDirectory '$State'" @{ POWERSHELL_TELEMETRY_OPTOUT = '1' }
        $second.ExitCode | Should -Not -Be 0
        $second.Error | Should -Match 'Another front door already listens'
        (Invoke-Ssh alice 'whoami').Output | Should -Be $AliceId
    }

    It 'stops on SIGTERM: the socket goes, and logins are served in their own process again; a socket left by a killed front door too' {
        & kill -TERM $FrontDoor.Id
        $FrontDoor.WaitForExit(30000) | Should -BeTrue
        Test-Path $Socket | Should -BeFalse
        Get-Content $Log -Raw | Should -Match 'stopped listening'
        $r = Invoke-Ssh alice 'connect fd1 cat ~/note.txt'
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Be 'kept'

        $killed = Start-FrontDoor (Join-Path $Work 'frontdoor2.log')
        $killed.Kill()
        $killed.WaitForExit()
        Test-Path $Socket | Should -BeTrue -Because 'a front door killed with SIGKILL leaves its socket'
        (Invoke-Ssh alice 'whoami').Output | Should -Be $AliceId
        (Invoke-Ssh alice 'list').Output | Should -Match '^fd1 '
    }
}
