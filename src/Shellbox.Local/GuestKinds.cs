namespace Shellbox.Local;

/// <summary>The guests assets/golden/build-golden.sh builds (its --guest values).</summary>
public static class GuestKinds
{
    /// <summary>A Debian 12 system: systemd, OpenSSH, apt, sudo, login user dev. What users get.</summary>
    public const string Debian = "debian";

    /// <summary>Busybox and dropbear on a small disk: seconds to build and boot, for tests.</summary>
    public const string Minimal = "minimal";

    /// <summary>The user a session lands as (both guests have it); the control plane logs in as root.</summary>
    public const string LoginUser = "dev";
}
