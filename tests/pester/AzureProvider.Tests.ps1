# The Azure provider as an operator meets it: the built module with provider Azure, pointed at the loopback ARM
# emulator (a real sshd and agent per emulated VM, real QEMU boxes) and a real Azurite. Every cmdlet runs in a
# fresh child pwsh with the environment an operator would set (SSL_CERT_FILE, IDENTITY_ENDPOINT/HEADER, the table
# connection string), so the real SDK, the real ManagedIdentityCredential and the private load context are used.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    . (Join-Path (Get-RepoRoot) 'build/AzureEmulator.ps1')
    $script:ModulePath = Get-ShellboxModulePath
    $state = New-TestStateDirectory 'shellbox-pester-azure'

    # The control key of the xunit run's golden cache (<repo>/.cache), so the golden the emulated VMs build is
    # found there by its content hash instead of being built again.
    $cachedKey = Join-Path (Get-RepoRoot) '.cache/keys/control_ed25519'
    if (Test-Path $cachedKey) {
        New-Item -ItemType Directory (Join-Path $state 'keys') | Out-Null
        Copy-Item "$cachedKey*" (Join-Path $state 'keys')
    }
    $script:Emulator = Start-ShellboxAzureEmulator -StateDirectory $state -VmHosts -RequestLog

    # A small pool: one ready pair plus a spare of each.
    $config = Get-Content -Raw $Emulator.ConfigFile | ConvertFrom-Json -AsHashtable
    $config.poolBounds = @{ minFreeInstances = 2; maxFreeInstances = 3; maxTotalInstances = 4; minFreeVolumes = 2; maxFreeVolumes = 4; maxTotalVolumes = 8 }
    $config | ConvertTo-Json -Depth 5 | Set-Content $Emulator.ConfigFile

    # Runs $Script in a child pwsh that imported the built module; fails the test on a non-zero exit.
    function Invoke-Azure([string] $Script) {
        $result = Invoke-ChildPwsh "`$ErrorActionPreference = 'Stop'; Import-Module '$ModulePath'; $Script" -Environment $Emulator.Environment
        $result.ExitCode | Should -Be 0 -Because "$($result.Output)`n$($result.Error)"
        return $result.Output.Trim()
    }

    # ARM writes the emulator answered so far (PUT/PATCH/POST/DELETE on a resource; Resource Graph queries are reads).
    $script:CountWrites = "@(Get-Content '$($Emulator.RequestLog)' | Where-Object { `$_ -match '\b(PUT|PATCH|POST|DELETE)\b.*\s/subscriptions/' -and `$_ -notmatch 'Microsoft\.ResourceGraph' }).Count"
}

AfterAll {
    if ($Emulator) {
        Invoke-ChildPwsh "Import-Module '$ModulePath'; Get-ShellboxBox -AllUsers | ForEach-Object { Remove-ShellboxBox -UserId `$_.UserId -Name `$_.Name -Force }" -Environment $Emulator.Environment | Out-Null
        Stop-ShellboxAzureEmulator $Emulator
        Remove-Item -Recurse -Force $Emulator.StateDirectory -ErrorAction Ignore
    }
}

Describe 'the Azure provider against the loopback ARM emulator and Azurite' {
    It 'makes the golden snapshot once and finds it by its versioned name the second time' {
        $first = Invoke-Azure '(New-ShellboxGoldenSnapshot -Confirm:$false).Version'
        $first | Should -Match '^golden-snapshot-[0-9a-f]+$'
        $writes = Invoke-Azure $CountWrites
        Invoke-Azure '(New-ShellboxGoldenSnapshot -Confirm:$false).Version' | Should -Be $first
        Invoke-Azure $CountWrites | Should -Be $writes -Because 'finding the golden again changes nothing in Azure'
    }

    It 'reconcile -WhatIf prints the plan and creates nothing; reconcile fills the pool with a ready pair' {
        $before = Invoke-Azure $CountWrites
        Invoke-Azure 'Invoke-ShellboxPoolReconcile -WhatIf 6>&1 | Out-String' | Should -Match 'create a new (instance|volume)'
        Invoke-Azure $CountWrites | Should -Be $before

        Invoke-Azure '1..2 | ForEach-Object { Invoke-ShellboxPoolReconcile -Confirm:$false | Out-Null }'
        $pool = Invoke-Azure 'Get-ShellboxPool | ConvertTo-Json -Depth 4' | ConvertFrom-Json
        ($pool | Where-Object Pool -eq 'instance').ReadyPairs | Should -BeGreaterOrEqual 1
        ($pool | Where-Object Pool -eq 'volume').Free | Should -BeGreaterOrEqual 2
        $pool | ForEach-Object { $_.Orphans + $_.Ghosts } | Should -Be @(0, 0) -Because 'Resource Graph sees what the store holds'
    }

    It 'connects a new box with no ARM write on its critical path, and the returning box with exactly one' {
        $new = Invoke-Azure @"
`$before = $CountWrites
`$c = Connect-ShellboxBox dev33 -PassThru -Confirm:`$false
`$after = $CountWrites
`$out = & ssh @(`$c.SshArguments) 'echo persisted > ~/note.txt; sync; echo ok'
`$c | Disconnect-ShellboxBox -Confirm:`$false
"`$(`$after - `$before) `$(`$c.Path) `$out"
"@
        $new | Should -Be '0 new-from-ready-pair ok'

        # The next reconcile pass (every CheckInterval) mirrors the new box's owner onto its volume's tags: no attach
        # carried it. Without it, the first attach of this box would add that one tag write itself.
        Invoke-Azure 'Invoke-ShellboxPoolReconcile -Confirm:$false | Out-Null'

        $returning = Invoke-Azure @"
`$before = $CountWrites
`$c = Connect-ShellboxBox dev33 -PassThru -Confirm:`$false
`$after = $CountWrites
`$out = & ssh @(`$c.SshArguments) 'cat ~/note.txt'
`$c | Disconnect-ShellboxBox -Confirm:`$false
"`$(`$after - `$before) `$(`$c.Path) `$out"
"@
        $returning | Should -Be '1 returning persisted'
    }

    It 'serves the ssh front door: ssh HOST connect NAME runs a command in a new box on Azure, in a terminal under ssh -t' {
        Invoke-Azure 'Invoke-ShellboxPoolReconcile -Confirm:$false | Out-Null'
        Import-Module (Join-Path $PSScriptRoot 'SshFixture.psm1') -Force
        $work = New-Item -ItemType Directory (Join-Path $Emulator.StateDirectory 'sshd')
        $sshd = Start-ShellboxSshd -Work $work.FullName -State $Emulator.StateDirectory -ModulePath $ModulePath -Environment $Emulator.Environment
        try {
            $first = Invoke-ShellboxSsh $sshd alice 'connect web echo hello-from-azure > ~/hello; cat ~/hello; hostname; df -BG --output=size / | tail -1'
            $first.ExitCode | Should -Be 0 -Because $first.Output
            $first.Output | Should -Match 'hello-from-azure'
            $first.Output | Should -Match '(?m)^web\r?$' -Because 'the box is called by its name, as on Local'
            # azure.volumeSizeGB 32: the box's disk is the volume less room for its RAM file and the filesystem (30 GiB)
            [int]($first.Output -split '\n' | Where-Object { $_ -match '^\s*\d+G\s*$' } | Select-Object -Last 1).Trim().TrimEnd('G') | Should -BeGreaterOrEqual 28
            $list = Invoke-ShellboxSsh $sshd alice 'list'
            $list.Output | Should -Match '\bweb\b'
            # ssh -t: the command gets a terminal in the box on Azure too
            $tty = (& ssh -tt -i (Join-Path $work.FullName 'alice') -p $sshd.Port -o StrictHostKeyChecking=no -o "UserKnownHostsFile=$($work.FullName)/known_hosts" -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR "$($sshd.User)@127.0.0.1" connect web tty 2>&1) -join "`n"
            $LASTEXITCODE | Should -Be 0 -Because $tty
            $tty | Should -Match '/dev/pts/\d+'
        }
        finally { Stop-ShellboxSshd $sshd }
    }

    It 'removes the box and deletes its disk' {
        $volume = Invoke-Azure '(Get-ShellboxBox dev33).VolumeId'
        $disk = "$($Emulator.BaseUri.TrimEnd('/'))/subscriptions/$($Emulator.SubscriptionId)/resourceGroups/$($Emulator.ResourceGroup)/providers/Microsoft.Compute/disks/$($volume)?api-version=2023-04-02"
        $token = (Invoke-RestMethod -Uri "$($Emulator.IdentityEndpoint)?resource=https://management.azure.com/&api-version=2019-08-01" -Headers @{ 'X-IDENTITY-HEADER' = $Emulator.Environment.IDENTITY_HEADER }).access_token
        $headers = @{ Authorization = "Bearer $token" }
        (Invoke-WebRequest -Uri $disk -Headers $headers -SkipCertificateCheck -SkipHttpErrorCheck).StatusCode | Should -Be 200

        Invoke-Azure 'Remove-ShellboxBox dev33 -Force'

        Invoke-Azure '@(Get-ShellboxBox -AllUsers | Where-Object Name -eq dev33).Count' | Should -Be '0'
        (Invoke-WebRequest -Uri $disk -Headers $headers -SkipCertificateCheck -SkipHttpErrorCheck).StatusCode | Should -Be 404 -Because 'the managed disk of the box is deleted in Azure'
    }
}
