@{
    RootModule           = 'Shellbox.PowerShell.dll'
    # Stamped by build.ps1 from Directory.Build.props; do not edit here.
    ModuleVersion        = '0.0.0'
    GUID                 = '5b0c7f4e-3d59-4b8e-9a53-2f1f0e6c9d41'
    Author               = 'Shellbox'
    CompanyName          = 'Shellbox'
    Copyright            = '(c) Shellbox. MIT License.'
    Description          = 'Personal Linux boxes over SSH: warm pools of instances and volumes, golden snapshots, suspend and resume to a volume. Local (QEMU on this machine) and Azure providers.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('Shellbox.format.ps1xml')
    CmdletsToExport      = @(
        'Block-ShellboxUser'
        'Connect-ShellboxBox'
        'Copy-ShellboxBox'
        'Disconnect-ShellboxBox'
        'Get-ShellboxBox'
        'Get-ShellboxEvent'
        'Get-ShellboxPool'
        'Get-ShellboxUser'
        'Invoke-ShellboxPoolReconcile'
        'Invoke-ShellboxSshCommand'
        'New-ShellboxBox'
        'New-ShellboxGoldenSnapshot'
        'Remove-ShellboxBox'
        'Set-ShellboxBoxKeepalive'
        'Start-ShellboxFrontDoor'
        'Start-ShellboxStatusServer'
        'Stop-ShellboxStatusServer'
        'Unblock-ShellboxUser'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('ssh', 'qemu', 'azure', 'devbox', 'pool')
            ProjectUri = 'https://shellbox.dev'
        }
    }
}
