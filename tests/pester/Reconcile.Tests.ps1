# Invoke-ShellboxPoolReconcile as an operator runs it by hand: -WhatIf writes nothing at all, not even the lock.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ShellboxModulePath
    # Every file of a state folder by path, size and content hash.
    function Get-StateFingerprint([string] $State) {
        Get-ChildItem -LiteralPath $State -Recurse -File | Sort-Object FullName | ForEach-Object {
            '{0} {1} {2}' -f $_.FullName.Substring($State.Length), $_.Length, (Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash
        }
    }
}

Describe 'Invoke-ShellboxPoolReconcile -WhatIf on a store with rows' {
    BeforeAll {
        $script:State = New-TestStateDirectory
        # A store with rows and events: one real pass (no golden: the instance is made, the volumes fail).
        $setup = Invoke-ChildPwsh "Import-Module '$ModulePath'; Invoke-ShellboxPoolReconcile -StateDirectory '$State' -Confirm:`$false -ErrorAction SilentlyContinue | Out-Null; (Get-ShellboxPool -StateDirectory '$State').Total"
        $setup.Output | Should -Match '1'  # the instance row
    }
    AfterAll { Remove-Item -Recurse -Force $State -ErrorAction Ignore }

    It 'leaves every file of the state folder byte-identical, one pass or -Continuous' {
        $before = Get-StateFingerprint $State
        ($before -join "`n") | Should -Match 'state\.db '

        $once = Invoke-ChildPwsh "Import-Module '$ModulePath'; Invoke-ShellboxPoolReconcile -StateDirectory '$State' -WhatIf"
        $loop = Invoke-ChildPwsh "Import-Module '$ModulePath'; Invoke-ShellboxPoolReconcile -StateDirectory '$State' -WhatIf -Continuous -Interval 00:00:00.5 -Duration 00:00:02 | ForEach-Object ToString"

        $once.ExitCode | Should -Be 0
        $once.Output | Should -Match 'What if: .*create a new volume'
        $loop.ExitCode | Should -Be 0
        @($loop.Output -split "`n" | Where-Object { $_ -match '^reconcile \w+: 2 planned, 0 ok' }).Count | Should -BeGreaterOrEqual 2
        Get-StateFingerprint $State | Should -Be $before
    }
}

Describe 'Invoke-ShellboxPoolReconcile -WhatIf on a state folder never used' {
    BeforeAll { $script:State = New-TestStateDirectory }
    AfterAll { Remove-Item -Recurse -Force $State -ErrorAction Ignore }

    It 'prints the plan for an empty store and creates no file and no folder, one pass or -Continuous' {
        $missing = Join-Path $State 'not-made-yet'

        $once = Invoke-ChildPwsh "Import-Module '$ModulePath'; Invoke-ShellboxPoolReconcile -StateDirectory '$State' -WhatIf"
        $loop = Invoke-ChildPwsh "Import-Module '$ModulePath'; Invoke-ShellboxPoolReconcile -StateDirectory '$missing' -WhatIf -Continuous -Interval 00:00:00.5 -Duration 00:00:02 | ForEach-Object ToString"

        $once.ExitCode | Should -Be 0
        $once.Output | Should -Match 'What if: .*create a new instance'
        $once.Output | Should -Match 'What if: .*create a new volume'
        $loop.ExitCode | Should -Be 0
        @($loop.Output -split "`n" | Where-Object { $_ -match '^reconcile \w+: [1-9]\d* planned, 0 ok' }).Count | Should -BeGreaterOrEqual 2
        @(Get-ChildItem -LiteralPath $State -Force -Recurse) | Should -BeNullOrEmpty
    }
}
