// The agent runs on a Linux instance only (QEMU, /proc, unix file modes).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
