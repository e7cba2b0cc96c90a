# The ARM emulator on its own, as an operator evaluating Shellbox starts it: the documented script prints its
# settings; a Get-ShellboxPool through them works; Ctrl+C stops it and leaves nothing running.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ShellboxModulePath
    $script:State = New-TestStateDirectory 'shellbox-pester-emulator'
}

AfterAll { Remove-Item -Recurse -Force $State -ErrorAction Ignore }

Describe 'the standalone ARM emulator' {
    It 'prints its settings, serves one Get-ShellboxPool through them, and stops on Ctrl+C' {
        $pwsh = Get-PwshCommand
        $script = Join-Path (Get-RepoRoot) 'build/Start-ShellboxAzureEmulator.ps1'
        $out = Join-Path $State 'out.txt'
        $process = Start-Process -FilePath $pwsh[0] -ArgumentList (@($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-File', $script, '-StateDirectory', (Join-Path $State 's'))) `
            -PassThru -RedirectStandardOutput $out -RedirectStandardError "$out.err"
        try {
            $deadline = (Get-Date).AddSeconds(120)
            while (-not ((Get-Content $out -Raw -ErrorAction Ignore) -match 'press Ctrl\+C')) {
                if ($process.HasExited -or (Get-Date) -gt $deadline) { throw "the emulator script did not come up: $(Get-Content -Raw $out) $(Get-Content -Raw "$out.err")" }
                Start-Sleep -Milliseconds 200
            }
            $printed = Get-Content $out -Raw
            $printed | Should -Match 'base url:\s+https://127\.0\.0\.1:\d+'
            $printed | Should -Match 'Azurite table endpoint:\s+http://127\.0\.0\.1:\d+'

            # Exactly what the script printed, as a user would copy it.
            $environment = @{}
            foreach ($m in [regex]::Matches($printed, "\`$env:(\w+) = '([^']*)'")) { $environment[$m.Groups[1].Value] = $m.Groups[2].Value }
            $environment.Keys | Should -Contain 'SSL_CERT_FILE'
            $pool = Invoke-ChildPwsh "`$ErrorActionPreference = 'Stop'; Import-Module '$ModulePath'; Get-ShellboxPool | ConvertTo-Json" -Environment $environment
            $pool.ExitCode | Should -Be 0 -Because "$($pool.Output) $($pool.Error)"
            $pools = $pool.Output | ConvertFrom-Json
            $pools.Pool | Should -Be @('instance', 'volume')
            $pools.Total | Should -Be @(0, 0)
        }
        finally {
            $children = @(& pgrep -P $process.Id)
            & kill -INT $process.Id
            $stopped = $process.WaitForExit(30000)
        }
        $stopped | Should -BeTrue -Because 'Ctrl+C stops the script'
        Start-Sleep -Milliseconds 500
        foreach ($child in $children) { Get-Process -Id $child -ErrorAction Ignore | Should -BeNullOrEmpty -Because 'nothing is left running' }
        Get-Content (Join-Path $State 'out.txt') -Raw | Should -Match 'stopped the ARM emulator and Azurite'
    }
}
