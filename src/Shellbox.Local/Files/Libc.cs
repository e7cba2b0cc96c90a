using System.Runtime.InteropServices;

namespace Shellbox.Local.Files;

/// <summary>The few libc calls .NET 8 has no managed form of (Linux only, like the Local provider).</summary>
internal static class Libc
{
    public const int O_RDONLY = 0;
    public const int O_DIRECTORY = 0x10000;
    public const int O_CLOEXEC = 0x80000;

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe blocks for these signatures; DllImport is enough here.
    [DllImport("libc", SetLastError = true)]
    public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    public static extern int fsync(int fd);

    [DllImport("libc", SetLastError = true)]
    public static extern int close(int fd);
#pragma warning restore SYSLIB1054
}
