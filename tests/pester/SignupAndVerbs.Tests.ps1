# Open sign-up, quotas, the block list and the remove / list --json / info verbs (issue 10, parts 3 and 5), as a
# user meets them: a real OpenSSH server on 127.0.0.1 whose AuthorizedKeysCommand is the module's
# shellbox-authorized-keys (no authorized_keys file: any key logs in) and whose ForceCommand is the wrapper, the
# real ssh client, real QEMU boxes on the Local provider. Every user has the quotas of shellbox.json: 2 boxes,
# 1 running.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ShellboxModulePath
    $script:Work = New-TestStateDirectory 'shellbox-signup'
    $script:State = Join-Path $Work 'state'
    New-Item -ItemType Directory $State | Out-Null
    @{ pool = 'Dev'; quotas = @{ boxes = 2; runningBoxes = 1 }
       poolBounds = @{ minFreeInstances = 2; maxFreeInstances = 3; maxTotalInstances = 4; minFreeVolumes = 2; maxFreeVolumes = 4; maxTotalVolumes = 8 }
       local = @{ guest = 'minimal'; maxSlots = 4; basePort = (Get-Random -Minimum 30000 -Maximum 32700) } } |
        ConvertTo-Json | Set-Content (Join-Path $State 'shellbox.json')

    Import-Module (Join-Path $PSScriptRoot 'SshFixture.psm1') -Force
    $script:Sshd = Start-ShellboxSshd -Work $Work -State $State -ModulePath $ModulePath -Users @('alice')
    New-ShellboxSshKey -Work $Work -Name 'newcomer'

    Import-Module $ModulePath -Force
    $PSDefaultParameterValues['*-Shellbox*:StateDirectory'] = $State
    New-ShellboxGoldenSnapshot | Out-Null
    Invoke-ShellboxPoolReconcile -Confirm:$false | Out-Null
    Invoke-ShellboxPoolReconcile -Confirm:$false | Out-Null

    # The operator names the newcomer by the public key alone: the id is derived as the wrapper derives it.
    $script:NewcomerId = (Get-ShellboxUser -PublicKey (Get-Content (Join-Path $Work 'newcomer.pub'))).UserId
    $script:Blocked = 'shellbox: this key is blocked; contact the operator'

    function Invoke-Ssh([string] $Key, [string] $Command) { Invoke-ShellboxSsh $Sshd $Key $Command }

    # What a refused command must leave as it was: every box with its volume, and the volumes on disk.
    function Get-Footprint {
        $boxes = @(Get-ShellboxBox -AllUsers | ForEach-Object { "$($_.UserId)/$($_.Name)@$($_.VolumeId)" } | Sort-Object)
        $volumes = @(Get-ChildItem (Join-Path $State 'volumes') -Directory -ErrorAction Ignore | ForEach-Object Name | Sort-Object)
        ($boxes + '|' + $volumes) -join ' '
    }

    function Assert-OneLineRefusal($Result, [string] $Because) {
        $Result.ExitCode | Should -Not -Be 0 -Because "$Because must be refused"
        @($Result.Output -split "`n").Count | Should -Be 1 -Because "$Because gets one line: $($Result.Output)"
        $Result.Output | Should -Match '^shellbox: ' -Because $Because
    }
}

AfterAll {
    $PSDefaultParameterValues.Remove('*-Shellbox*:StateDirectory')
    Remove-ShellboxSshdState -Sshd $Sshd -State $State -Work $Work
}

Describe 'open sign-up, quotas, the block list and the box verbs through a real sshd' {
    It 'lets a key it has never seen log in as the user the operator derives from that key, and gives it a box' {
        (Invoke-Ssh newcomer 'whoami').Output | Should -Be $NewcomerId
        Get-ShellboxBox -UserId $NewcomerId | Should -BeNullOrEmpty

        $first = Invoke-Ssh newcomer 'connect first echo hello-from-$(hostname)'
        $first.ExitCode | Should -Be 0 -Because $first.Output
        $first.Output | Should -Match 'hello-from-'
        (Get-ShellboxBox -UserId $NewcomerId).Name | Should -Be 'first'
    }

    It 'lists boxes as JSON and shows a box''s state, times, disk used, keepalive and how its RAM state is kept' {
        (Invoke-Ssh newcomer 'spinup second').Output | Should -Be 'created box second'
        (Invoke-Ssh alice 'list --json').Output | Should -Be '[]'

        $list = Invoke-Ssh newcomer 'list --json'
        $list.ExitCode | Should -Be 0
        $boxes = @($list.Output | ConvertFrom-Json)
        $boxes.name | Should -Be @('first', 'second')
        $boxes.state | Should -Be @('suspended', 'suspended')
        $boxes | ForEach-Object { [DateTimeOffset]::Parse($_.created) | Should -BeLessOrEqual ([DateTimeOffset]::UtcNow) }

        $info = Invoke-Ssh newcomer 'info first'
        $info.ExitCode | Should -Be 0 -Because $info.Output
        $info.Output | Should -Match '(?m)^state:\s+suspended$'
        $info.Output | Should -Match '(?m)^created:\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$'
        $info.Output | Should -Match '(?m)^last used:\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$'
        $info.Output | Should -Match '(?m)^disk used:\s+\d+\.\d MiB$'
        $info.Output | Should -Match '(?m)^RAM state:\s+kept on its volume indefinitely while suspended'
        $info.Output | Should -Match '(?m)^keepalive:\s+off: suspended when its last session leaves$'

        $json = (Invoke-Ssh newcomer 'info first --json').Output | ConvertFrom-Json
        $json.name | Should -Be 'first'
        $json.diskUsedBytes | Should -BeGreaterThan 0
        $json.ramState | Should -Match 'indefinitely'
        $json.keepalive | Should -Be 'off'
        $json.keptAliveUntil | Should -BeNullOrEmpty
        [DateTimeOffset]::Parse($json.lastUsed) | Should -BeGreaterOrEqual ([DateTimeOffset]::Parse($json.created))
    }

    It 'refuses a third box with one line naming the quota, creates nothing, and records the refusal' {
        $before = Get-Footprint
        foreach ($command in 'connect third true', 'spinup third') {
            $r = Invoke-Ssh newcomer $command
            Assert-OneLineRefusal $r $command
            $r.Output | Should -Be 'shellbox: quota: you have 2 of 2 boxes; remove one with: ssh HOST remove NAME'
        }

        Get-Footprint | Should -Be $before
        @(Get-ShellboxEvent -Kind quota | Where-Object ResourceId -eq $NewcomerId).Count | Should -Be 2
    }

    It 'while a session is open: remove refuses the box, a second box may not run beside it, joining it is fine' {
        $session = Start-Process ssh -PassThru -RedirectStandardOutput (Join-Path $Work 'held.out') -RedirectStandardError (Join-Path $Work 'held.err') -ArgumentList @(
            '-i', (Join-Path $Work 'newcomer'), '-p', $Sshd.Port, '-o', 'StrictHostKeyChecking=no', '-o', "UserKnownHostsFile=$Work/known_hosts",
            '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', "$($Sshd.User)@127.0.0.1", 'connect first sleep 12')
        try {
            $deadline = (Get-Date).AddSeconds(60)
            while (-not (Get-ShellboxBox -UserId $NewcomerId -Name first | Where-Object { $_.State -eq 'running' -and $_.Sessions -gt 0 }) -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 200 }
            (Get-ShellboxBox -UserId $NewcomerId -Name first).Sessions | Should -Be 1
            $before = Get-Footprint

            $remove = Invoke-Ssh newcomer 'remove first'
            Assert-OneLineRefusal $remove 'remove of a connected box'
            $remove.Output | Should -Match 'connected session'

            $second = Invoke-Ssh newcomer 'connect second true'
            Assert-OneLineRefusal $second 'a second running box'
            $second.Output | Should -Match '^shellbox: quota: you have 1 of 1 boxes running'
            (Get-ShellboxBox -UserId $NewcomerId -Name second).State | Should -Be 'suspended'
            Get-Footprint | Should -Be $before

            $join = Invoke-Ssh newcomer 'connect first echo joined'
            $join.ExitCode | Should -Be 0 -Because $join.Output
            $join.Output | Should -Match 'joined'
        }
        finally {
            $session.WaitForExit(60000) | Out-Null
            if (-not $session.HasExited) { Stop-Process -Id $session.Id -ErrorAction Ignore }
        }
        $session.ExitCode | Should -Be 0
        (Get-ShellboxBox -UserId $NewcomerId -Name first).State | Should -Be 'suspended'
    }

    It 'removes a box over ssh: its volume is gone, list no longer shows it, and the quota has room again' {
        $box = Get-ShellboxBox -UserId $NewcomerId -Name second
        $volume = Join-Path $State "volumes/$($box.VolumeId)"
        Test-Path $volume | Should -BeTrue

        $r = Invoke-Ssh newcomer 'remove second'
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Be 'removed box second'
        Test-Path $volume | Should -BeFalse
        (Invoke-Ssh newcomer 'list').Output | Should -Not -Match 'second'

        $before = Get-Footprint
        Assert-OneLineRefusal (Invoke-Ssh newcomer 'remove second') 'remove of a removed box'
        Get-Footprint | Should -Be $before
        Invoke-ShellboxPoolReconcile -Confirm:$false | Out-Null # the scheduled reconciler refills the volumes taken above
        (Invoke-Ssh newcomer 'spinup third').Output | Should -Be 'created box third'
    }

    It 'gives a blocked key one line and nothing else for every command until the operator unblocks it' {
        $user = Block-ShellboxUser -PublicKey (Get-Content (Join-Path $Work 'newcomer.pub')) -Reason 'pester' -Confirm:$false
        ($user.UserId, $user.Blocked, $user.Boxes) | Should -Be @($NewcomerId, $true, 2)
        (Get-ShellboxUser -Blocked).UserId | Should -Contain $NewcomerId
        $before = Get-Footprint

        foreach ($command in 'connect first true', 'connect fresh true', 'list', 'list --json', 'help', 'whoami', 'info first', 'remove first', 'spinup other', 'no-such-verb') {
            $r = Invoke-Ssh newcomer $command
            $r.ExitCode | Should -Not -Be 0 -Because "'$command' of a blocked key"
            $r.Output | Should -BeExactly $Blocked -Because "'$command' of a blocked key gets that one line"
        }
        Get-Footprint | Should -Be $before
        (Invoke-Ssh alice 'list').ExitCode | Should -Be 0 -Because 'a block is of one key only'

        Unblock-ShellboxUser -UserId $NewcomerId -Confirm:$false | Select-Object -ExpandProperty Blocked | Should -BeFalse
        $list = Invoke-Ssh newcomer 'list'
        $list.ExitCode | Should -Be 0
        $list.Output | Should -Match 'first'
        (Get-ShellboxEvent -Kind block | Where-Object ResourceId -eq $NewcomerId).Message | Should -Match 'pester'
        Get-ShellboxEvent -Kind unblock | Where-Object ResourceId -eq $NewcomerId | Should -Not -BeNullOrEmpty
    }

    It 'refuses every bad input with one line and a non-zero exit, changing nothing' {
        $before = Get-Footprint
        foreach ($bad in 'connect', 'spinup', 'info', 'info Bad', 'info nosuch', 'info first --yaml', 'info first --json x', 'remove', 'remove Bad', 'remove ../x',
                         'remove first third', 'remove nosuch', 'list --yaml', 'list --json x', 'help me', ('info ' + ('a' * 40))) {
            Assert-OneLineRefusal (Invoke-Ssh newcomer $bad) "'$bad'"
        }
        (Invoke-Ssh newcomer 'info nosuch').Output | Should -Match "no box 'nosuch'"
        (Invoke-Ssh newcomer 'connect').Output | Should -Be 'shellbox: connect needs a box name; try: ssh HOST help'
        Get-Footprint | Should -Be $before
    }
}
