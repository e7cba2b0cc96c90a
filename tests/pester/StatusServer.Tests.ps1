# The status server as an operator meets it: started in a session beside a small Local pool, scraped with
# Invoke-WebRequest after a reconcile and a connect, then stopped.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ShellboxModulePath
    $script:Work = New-TestStateDirectory 'shellbox-status'
    $script:State = Join-Path $Work 'state'
    New-Item -ItemType Directory $State | Out-Null

    # One ready pair and a spare volume; events kept at most 1000.
    @{ pool = 'Dev'; poolBounds = @{ minFreeInstances = 1; maxFreeInstances = 2; maxTotalInstances = 3; minFreeVolumes = 2; maxFreeVolumes = 3; maxTotalVolumes = 6 }
       events = @{ maxAgeDays = 7; maxCount = 1000 }
       local = @{ guest = 'minimal'; maxSlots = 3; basePort = (Get-Random -Minimum 32800 -Maximum 34000) } } |
        ConvertTo-Json | Set-Content (Join-Path $State 'shellbox.json')

    function Get-FreePort {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }

    # The value of one Prometheus sample: the line whose name and labels contain every fragment.
    function Get-Sample([string] $Text, [string] $Name, [string[]] $Labels = @()) {
        $line = $Text -split "`n" | Where-Object {
            $l = $_
            $l -match "^$Name(\{| )" -and -not ($Labels | Where-Object { -not $l.Contains($_) })
        } | Select-Object -First 1
        if (-not $line) { return $null }
        [double]($line -split ' ')[-1]
    }

    Import-Module $ModulePath -Force
    $script:Golden = New-ShellboxGoldenSnapshot -StateDirectory $State
    $script:Port = Get-FreePort
    $script:Server = Start-ShellboxStatusServer -StateDirectory $State -Port $Port -Confirm:$false

    # Two passes make the pool and pair it; a new box takes the ready pair; a third pass refills.
    Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false | Out-Null
    Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false | Out-Null
    $script:Connection = Connect-ShellboxBox -StateDirectory $State -UserId alice web -PassThru
    $Connection | Disconnect-ShellboxBox -StateDirectory $State
    $script:Verbose = Invoke-ShellboxPoolReconcile -StateDirectory $State -Confirm:$false -Verbose 4>&1 | Where-Object { $_ -is [Management.Automation.VerboseRecord] } | ForEach-Object Message
}

AfterAll {
    try {
        if (Get-Module Shellbox) {
            Stop-ShellboxStatusServer -Confirm:$false -ErrorAction Continue
            foreach ($b in @(Get-ShellboxBox -StateDirectory $State -AllUsers)) { Remove-ShellboxBox -StateDirectory $State -UserId $b.UserId -Name $b.Name -Force -ErrorAction Continue }
        }
    }
    finally {
        Get-ChildItem (Join-Path $State 'instances') -Filter qemu.pid -Recurse -ErrorAction Ignore |
            ForEach-Object { Stop-Process -Id ([int](Get-Content $_)) -ErrorAction Ignore }
        Remove-Module Shellbox -ErrorAction Ignore
        Remove-Item -Recurse -Force $Work -ErrorAction Ignore
    }
}

Describe 'Start-ShellboxStatusServer' {
    It 'answers on loopback at the port it was given' {
        $Server.Url | Should -Be "http://127.0.0.1:$Port"
        $Server.MetricsUrl | Should -Be "http://127.0.0.1:$Port/metrics"
    }

    It 'serves /pool/status with the counts Get-ShellboxPool shows, the golden version and the last reconcile' {
        $answer = Invoke-WebRequest "$($Server.Url)/pool/status"
        $answer.StatusCode | Should -Be 200
        $answer.Headers['Content-Type'] | Should -Match 'application/json'
        $status = $answer.Content | ConvertFrom-Json
        $pool = Get-ShellboxPool -StateDirectory $State

        $status.provider | Should -Be 'Local'
        $status.goldenVersion | Should -Be $Golden.Version
        $status.readyPairs | Should -Be ($pool | Select-Object -First 1).ReadyPairs
        foreach ($role in 'instance', 'volume') {
            $mine = $pool | Where-Object Pool -eq $role
            $theirs = $status.pools | Where-Object pool -eq $role
            $theirs.free | Should -Be $mine.Free -Because "free $role"
            $theirs.inUse | Should -Be $mine.InUse -Because "$role in use"
            $theirs.bounds.minFree | Should -Be $mine.MinFree
        }
        ($status.pools | Where-Object pool -eq 'volume').inUse | Should -Be 1 -Because 'alice''s web box owns one volume'
        $status.lastReconcile.succeeded | Should -BeTrue
        $status.lastReconcile.summary | Should -Match 'failed=0'
    }

    It 'serves /metrics as Prometheus text: connect latency by path, reconcile actions, pool gauges, golden version' {
        $answer = Invoke-WebRequest "$($Server.Url)/metrics"
        $answer.StatusCode | Should -Be 200
        $answer.Headers['Content-Type'] | Should -Match 'text/plain'
        $text = $answer.Content

        (Get-Sample $text 'shellbox_connect_duration_seconds_count' @('path="new-from-ready-pair"', 'outcome="succeeded"')) | Should -Be 1 -Because $text
        (Get-Sample $text 'shellbox_claim_duration_seconds_count' @('path="new-from-ready-pair"')) | Should -Be 1
        (Get-Sample $text 'shellbox_reconcile_actions_total' @('kind="create-resource"', 'outcome="succeeded"')) | Should -BeGreaterOrEqual 3
        (Get-Sample $text 'shellbox_reconcile_actions_total' @('kind="pair-ready-pair"', 'outcome="succeeded"')) | Should -BeGreaterOrEqual 1
        (Get-Sample $text 'shellbox_reconcile_passes_total' @('outcome="done"')) | Should -Be 3

        $pool = Get-ShellboxPool -StateDirectory $State
        (Get-Sample $text 'shellbox_pool_resources' @('role="volume"', 'status="free"')) | Should -Be ($pool | Where-Object Pool -eq 'volume').Free
        (Get-Sample $text 'shellbox_pool_resources' @('role="volume"', 'status="in_use"')) | Should -Be 1
        (Get-Sample $text 'shellbox_pool_ready_pairs') | Should -Be ($pool | Select-Object -First 1).ReadyPairs
        (Get-Sample $text 'shellbox_golden_info' @("version=""$($Golden.Version)""")) | Should -Be 1
    }

    It 'answers 404 with the two paths for anything else' {
        $r = Invoke-WebRequest "$($Server.Url)/secrets" -SkipHttpErrorCheck
        $r.StatusCode | Should -Be 404
        $r.Content | Should -Match '/metrics'
    }

    It 'refuses a non-loopback address without -AllowRemote, and says why' {
        { Start-ShellboxStatusServer -StateDirectory $State -Port (Get-FreePort) -Address 0.0.0.0 -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'StartShellboxStatusServerStatusAddressNotLoopback,*' -ExpectedMessage '*no authentication*'
    }

    It 'refuses a second server on a port this session already serves' {
        { Start-ShellboxStatusServer -StateDirectory $State -Port $Port -Confirm:$false -ErrorAction Stop } | Should -Throw
        (Invoke-WebRequest "$($Server.Url)/metrics").StatusCode | Should -Be 200
    }
}

Describe 'StatusServer logs and events' {
    It 'routes the reconcile pass to -Verbose under one correlation id, with no key in any line' {
        $pass = $Verbose | Where-Object { $_ -match 'reconcile pass' }
        $pass | Should -Not -BeNullOrEmpty -Because ($Verbose -join "`n")
        $pass | Should -Match '^correlation=\S+ reconcile pass actions=\d+ succeeded=\d+ failed=0'
        $Verbose -join "`n" | Should -Not -Match 'PRIVATE KEY|AccountKey=|SharedAccessSignature'
    }

    It 'finds alice''s connect by kind and box' {
        $events = @(Get-ShellboxEvent -StateDirectory $State -Kind connect -Box web -UserId alice)
        $events.Count | Should -Be 1
        $events[0].Message | Should -Match 'path=new-from-ready-pair'
        @(Get-ShellboxEvent -StateDirectory $State -Kind connect -Box other -UserId alice).Count | Should -Be 0
        @(Get-ShellboxEvent -StateDirectory $State -Kind reconcile).Count | Should -Be 3
    }
}

Describe 'Stop-ShellboxStatusServer' {
    It 'stops the server and closes its port' {
        Stop-ShellboxStatusServer -Port $Port -Confirm:$false
        { Invoke-WebRequest "http://127.0.0.1:$Port/metrics" -TimeoutSec 5 } | Should -Throw
        $client = [Net.Sockets.TcpClient]::new()
        try { { $client.Connect([Net.IPAddress]::Loopback, $Port) } | Should -Throw }
        finally { $client.Dispose() }
    }
}
