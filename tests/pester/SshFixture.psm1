# A real OpenSSH server on 127.0.0.1 whose ForceCommand is the Shellbox wrapper, and an ssh client
# call; used by the end-to-end tests and the end-to-end benchmark.

Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1')

# Starts sshd for the state folder; makes a host key and the given user keys in $Work. Any key logs in
# (the module's AuthorizedKeysCommand): New-ShellboxSshKey makes one never seen before.
# -Environment: further variables for the wrapper's sessions (the Azure provider's: SSL_CERT_FILE, IDENTITY_*, ...).
function Start-ShellboxSshd([string] $Work, [string] $State, [string] $ModulePath, [string[]] $Users = @('alice', 'bob'), [System.Collections.IDictionary] $Environment = @{}) {
    foreach ($k in @('host') + $Users) {
        if (-not (Test-Path (Join-Path $Work $k))) { & ssh-keygen -q -t ed25519 -N '' -C $k -f (Join-Path $Work $k) | Out-Null }
    }
    # Open sign-up as on a bastion: the module's AuthorizedKeysCommand accepts any key, no authorized_keys file.
    # sshd runs a command only if its file and every folder above it are root-owned and not group/world-writable;
    # a checkout may sit anywhere (under /tmp, under a private home), so the test runs the shipped script through
    # /bin/sh (the file sshd checks) as the user running sshd (who can read the checkout).
    $keysCommand = Join-Path (Split-Path $ModulePath) 'ssh/shellbox-authorized-keys'
    if (-not (Test-Path $keysCommand)) { $keysCommand = Join-Path $PSScriptRoot '../../module/ssh/shellbox-authorized-keys' | Resolve-Path | Select-Object -ExpandProperty Path }
    $pwsh = (Get-PwshCommand) -join ' '
    $port = Get-Random -Minimum 20000 -Maximum 29999
    $user = [Environment]::UserName
    $wrapper = Join-Path (Split-Path $ModulePath) 'ssh/shellbox-ssh.ps1'
    # sshd runs the ForceCommand through the account's shell, which for an ssh command sources ~/.bashrc: a HOME in the
    # work folder keeps this machine's own start-up files out of the sessions (root's here runs pyenv, whose rehash
    # raced itself and wrote to stderr when a burst logged in at once), and pwsh's caches in the test's folder.
    New-Item -ItemType Directory -Force (Join-Path $Work 'home') | Out-Null
    @"
ListenAddress 127.0.0.1
Port $port
HostKey $Work/host
PidFile $Work/sshd.pid
AuthorizedKeysFile none
AuthorizedKeysCommand /bin/sh $keysCommand %t %k
AuthorizedKeysCommandUser $user
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
ExposeAuthInfo yes
PermitTTY yes
DisableForwarding yes
MaxStartups 100:30:200
AllowStreamLocalForwarding no
PermitTunnel no
AllowUsers $user
SetEnv HOME=$Work/home SHELLBOX_HOME=$State $(@($Environment.Keys | Where-Object { $_ -ne 'SHELLBOX_HOME' } | ForEach-Object { "`"$_=$($Environment[$_])`"" }) -join ' ')
ForceCommand $pwsh -NoProfile -NonInteractive -File $wrapper
"@ | Set-Content (Join-Path $Work 'sshd_config')
    & /usr/sbin/sshd -t -f (Join-Path $Work 'sshd_config')
    if ($LASTEXITCODE -ne 0) { throw "sshd refused the generated configuration in $Work/sshd_config." }
    $process = Start-Process /usr/sbin/sshd -ArgumentList '-D', '-e', '-f', (Join-Path $Work 'sshd_config') -PassThru -RedirectStandardError (Join-Path $Work 'sshd.log')
    $deadline = (Get-Date).AddSeconds(10)
    while (-not (Test-NetPort 127.0.0.1 $port)) {
        if ((Get-Date) -gt $deadline -or $process.HasExited) { throw "sshd did not start; see $Work/sshd.log." }
        Start-Sleep -Milliseconds 100
    }
    [pscustomobject]@{ Work = $Work; Port = $port; User = $user; Process = $process }
}

# A new key pair $Work/$Name(.pub) for a user the bastion has never seen.
function New-ShellboxSshKey([string] $Work, [string] $Name) {
    & ssh-keygen -q -t ed25519 -N '' -C $Name -f (Join-Path $Work $Name) | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "ssh-keygen could not make key $Name in $Work." }
}

function Test-NetPort([string] $HostName, [int] $Port) {
    $client = [Net.Sockets.TcpClient]::new()
    try { $client.Connect($HostName, $Port); return $true } catch { return $false } finally { $client.Dispose() }
}

# One ssh call as key $Key; returns the exit code and the output (stdout and stderr) as text.
function Invoke-ShellboxSsh($Sshd, [string] $Key, [string] $Command) {
    $sshArgs = @('-i', (Join-Path $Sshd.Work $Key), '-p', $Sshd.Port, '-o', 'StrictHostKeyChecking=no', '-o', "UserKnownHostsFile=$($Sshd.Work)/known_hosts",
        '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', "$($Sshd.User)@127.0.0.1")
    if ($Command) { $sshArgs += $Command }
    $out = & ssh @sshArgs 2>&1
    [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out | ForEach-Object { "$_" }) -join "`n" }
}

function Stop-ShellboxSshd($Sshd) {
    if ($Sshd -and $Sshd.Process) { Stop-Process -Id $Sshd.Process.Id -ErrorAction Ignore }
}

# Teardown of a test that ran boxes behind an sshd: removes every box, stops sshd and any QEMU left, deletes $Work.
function Remove-ShellboxSshdState($Sshd, [string] $State, [string] $Work) {
    try {
        if (Get-Module Shellbox) {
            foreach ($b in @(Get-ShellboxBox -StateDirectory $State -AllUsers)) { Remove-ShellboxBox -StateDirectory $State -UserId $b.UserId -Name $b.Name -Force -ErrorAction Continue }
        }
    }
    finally {
        Stop-ShellboxSshd $Sshd
        Get-ChildItem (Join-Path $State 'instances') -Filter qemu.pid -Recurse -ErrorAction Ignore |
            ForEach-Object { Stop-Process -Id ([int](Get-Content $_)) -ErrorAction Ignore }
        Remove-Module Shellbox -ErrorAction Ignore
        Remove-Item -Recurse -Force $Work -ErrorAction Ignore
    }
}

Export-ModuleMember -Function Start-ShellboxSshd, New-ShellboxSshKey, Invoke-ShellboxSsh, Stop-ShellboxSshd, Remove-ShellboxSshdState
