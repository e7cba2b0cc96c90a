# The module must coexist with other modules' copies of its dependencies (Az.Accounts brings its own
# Azure.Core): each test loads an older copy into a fresh session first, then imports Shellbox.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ShellboxModulePath
    $script:Nuget = Join-Path (Get-RepoRoot) 'tools/nuget'
}

Describe 'Loading beside other versions of its dependencies' {
    It 'works after another Azure.Core and another Microsoft.Data.Sqlite were loaded into the session' {
        $state = New-TestStateDirectory
        try {
            $script = @"
`$ErrorActionPreference = 'Stop'
Add-Type -Path '$Nuget/azure.core/1.44.1/lib/net6.0/Azure.Core.dll'
Add-Type -Path '$Nuget/microsoft.data.sqlite.core/6.0.7/lib/net6.0/Microsoft.Data.Sqlite.dll'
Import-Module '$ModulePath'
`$pools = Get-ShellboxPool -StateDirectory '$state'
'pools=' + (`$pools.Pool -join ',')
[AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -in 'Azure.Core', 'Microsoft.Data.Sqlite' } |
    ForEach-Object { 'loaded=' + `$_.GetName().Name + '/' + `$_.GetName().Version + '/' + [Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_).Name }
"@
            $run = Invoke-ChildPwsh $script
            $run.Error | Should -BeNullOrEmpty
            $run.ExitCode | Should -Be 0
            $run.Output | Should -Match 'pools=instance,volume'
            # the session's own Sqlite 6.0 stays in the default context; Shellbox's 8.0 lives in its own
            $run.Output | Should -Match 'loaded=Microsoft.Data.Sqlite/6\.0\.\S+/Default'
            $run.Output | Should -Match 'loaded=Microsoft.Data.Sqlite/8\.0\.\S+/Shellbox'
        }
        finally { Remove-Item -Recurse -Force $state -ErrorAction Ignore }
    }
}
