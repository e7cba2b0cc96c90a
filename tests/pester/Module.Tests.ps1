BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ShellboxModulePath
    Import-Module $ModulePath -Force
}

AfterAll {
    Remove-Module Shellbox -ErrorAction Ignore
}

Describe 'The built module' {
    It 'exports exactly the cmdlets its manifest lists, each with help examples' {
        $manifest = Import-PowerShellDataFile $ModulePath
        $exported = (Get-Module Shellbox).ExportedCmdlets.Keys | Sort-Object
        $exported | Should -Be ($manifest.CmdletsToExport | Sort-Object)
        $exported.Count | Should -BeGreaterThan 5
    }

    It 'carries the version from Directory.Build.props' {
        $props = [xml](Get-Content -Raw (Join-Path (Get-RepoRoot) 'Directory.Build.props'))
        $version = ($props.Project.PropertyGroup | Where-Object { $_['Version'] } | Select-Object -First 1).Version
        (Get-Module Shellbox).Version.ToString() | Should -Be $version
    }

    It 'supports -WhatIf on every state-changing cmdlet' {
        foreach ($name in 'Invoke-ShellboxPoolReconcile', 'New-ShellboxBox', 'Remove-ShellboxBox', 'Connect-ShellboxBox', 'Disconnect-ShellboxBox', 'New-ShellboxGoldenSnapshot') {
            (Get-Command $name).Parameters.Keys | Should -Contain 'WhatIf' -Because "$name changes state"
        }
    }
}

Describe 'Get-ShellboxPool' {
    BeforeEach { $script:State = New-TestStateDirectory }
    AfterEach { Remove-Item -Recurse -Force $State -ErrorAction Ignore }

    It 'shows both empty pools with the Dev bounds of seed 000' {
        $pools = Get-ShellboxPool -StateDirectory $State
        $pools.Pool | Should -Be @('instance', 'volume')
        $pools | ForEach-Object { $_.Free | Should -Be 0; $_.Total | Should -Be 0; $_.Config | Should -Be 'Dev' }
        $pools[0].MinFree, $pools[0].MaxFree, $pools[0].MaxTotal | Should -Be @(1, 2, 5)
        $pools[1].MinFree, $pools[1].MaxFree, $pools[1].MaxTotal | Should -Be @(2, 5, 20)
    }

    It 'renders as a table with the pool, counts and bounds' {
        $text = Get-ShellboxPool -StateDirectory $State | Out-String
        $text | Should -Match 'Pool\s+Free\s+Ready\s+InUse'
        $text | Should -Match 'volume\s+0\s+0\s+0\s+0\s+0\s+0\s+2\.\.5 of 20'
    }

    It 'reads SHELLBOX_HOME and the pool named in SHELLBOX_POOL' {
        # The shellbox.json of SHELLBOX_HOME is read; a read makes no state.db (the first write does).
        Set-Content (Join-Path $State 'shellbox.json') '{ "poolBounds": { "maxTotalVolumes": 400 } }'
        $env:SHELLBOX_HOME = $State; $env:SHELLBOX_POOL = 'Prod'
        try { $pools = Get-ShellboxPool } finally { Remove-Item env:SHELLBOX_HOME, env:SHELLBOX_POOL }
        $pools[1].MinFree, $pools[1].MaxFree, $pools[1].MaxTotal | Should -Be @(20, 50, 400)
        Test-Path (Join-Path $State 'state.db') | Should -BeFalse
    }

    It 'refuses an invalid pool configuration with one line naming the field, and writes nothing' {
        Set-Content (Join-Path $State 'shellbox.json') '{ "pool": "Dev", "poolBounds": { "minFreeVolumes": 9, "maxFreeVolumes": 3 } }'
        $record = $null
        try { Get-ShellboxPool -StateDirectory $State } catch { $record = $_ }
        $record | Should -Not -BeNullOrEmpty
        $record.Exception.Message | Should -Match "^Pool configuration 'Dev \(custom\)': MaxFreeVolumes \(3\) must be at least MinFreeVolumes \(9\)\.$"
        $record.FullyQualifiedErrorId | Should -BeLike 'GetShellboxPoolPoolConfigInvalid*'
        $record.CategoryInfo.Category | Should -Be 'InvalidArgument'
        Test-Path (Join-Path $State 'state.db') | Should -BeFalse
    }

    It 'refuses an unknown provider with one clear line' {
        $env:SHELLBOX_PROVIDER = 'Mars'
        try { { Get-ShellboxPool -StateDirectory $State -ErrorAction Stop } | Should -Throw "*no provider named 'Mars'*" }
        finally { Remove-Item env:SHELLBOX_PROVIDER }
    }
}

Describe 'Invoke-ShellboxPoolReconcile -WhatIf' {
    BeforeAll { $script:State = New-TestStateDirectory }
    AfterAll { Remove-Item -Recurse -Force $State -ErrorAction Ignore }

    It 'prints the plan for an empty Dev pool and changes nothing' {
        # What-if lines go to the host, so read them from a child session's console output.
        $run = Invoke-ChildPwsh "Import-Module '$ModulePath'; Invoke-ShellboxPoolReconcile -StateDirectory '$State' -WhatIf"
        $run.ExitCode | Should -Be 0
        $lines = $run.Output
        $lines | Should -Match 'What if: .*create a new instance'
        ([regex]::Matches($lines, 'create a new instance')).Count | Should -Be 1
        ([regex]::Matches($lines, 'create a new volume')).Count | Should -Be 2
        $pools = Get-ShellboxPool -StateDirectory $State
        ($pools | Measure-Object Total -Sum).Sum | Should -Be 0
        Get-ChildItem $State -Recurse -Filter *.qcow2 | Should -BeNullOrEmpty
    }
}

Describe 'Help' {
    It 'gives every cmdlet a synopsis and at least one example' {
        foreach ($name in (Get-Module Shellbox).ExportedCmdlets.Keys) {
            $help = Get-Help $name -Full
            "$($help.Synopsis)".Trim() | Should -Not -BeNullOrEmpty -Because "$name needs a synopsis"
            "$($help.Synopsis)" | Should -Not -Match '^\s*\S+-Shellbox\S*\s*(\[|$)' -Because "$name's synopsis is prose, not the syntax"
            @($help.examples.example).Count | Should -BeGreaterThan 0 -Because "$name needs an example"
        }
    }
}

Describe 'Invoke-ShellboxPoolReconcile -Continuous' {
    It 'repeats passes every -Interval until stopped, and stops cleanly' {
        $state = New-TestStateDirectory
        try {
            $job = Start-Job -ScriptBlock {
                param($ModulePath, $State)
                Import-Module $ModulePath
                Invoke-ShellboxPoolReconcile -StateDirectory $State -Continuous -Interval 00:00:01 -WhatIf
            } -ArgumentList $ModulePath, $state
            Start-Sleep -Seconds 4
            Stop-Job $job
            $results = @(Receive-Job $job -ErrorAction SilentlyContinue | Where-Object { $_.PSObject.Properties['CorrelationId'] })
            Remove-Job $job -Force
            $results.Count | Should -BeGreaterOrEqual 2
            @($results.CorrelationId | Select-Object -Unique).Count | Should -Be $results.Count
            $results[0].Planned | Should -Contain 'create a new instance'
            # -WhatIf: every pass planned, none acted
            ($results | Measure-Object Succeeded -Sum).Sum | Should -Be 0
            (Get-ShellboxPool -StateDirectory $state | Measure-Object Total -Sum).Sum | Should -Be 0
        }
        finally { Remove-Item -Recurse -Force $state -ErrorAction Ignore }
    }
}
