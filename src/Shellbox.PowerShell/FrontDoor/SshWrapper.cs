using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Shellbox.PowerShell.FrontDoor;

/// <summary>
/// The compiled half of module/ssh/shellbox-ssh.ps1, which sshd runs for every login: the wrapper loads this assembly
/// alone (not the module) and calls here, so a login served by the front door binds two methods instead of
/// interpreting its protocol line by line. Uses nothing but the base class library: neither the engine nor
/// PowerShell is loaded on this path.
/// </summary>
public static class SshWrapper
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>
    /// The public key the user authenticated with, 'TYPE BASE64', from the file sshd names in SSH_USER_AUTH
    /// (ExposeAuthInfo); null after writing the one line the user gets when there is none.
    /// </summary>
    public static string? AuthKey(string? authFile)
    {
        if (string.IsNullOrEmpty(authFile) || !File.Exists(authFile))
        {
            Console.Error.WriteLine("shellbox: the bastion is misconfigured: sshd must set ExposeAuthInfo yes.");
            return null;
        }

        foreach (var line in File.ReadLines(authFile))
        {
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 3 && fields[0] == "publickey" && fields[2].All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '='))
            {
                return $"{fields[1]} {fields[2]}";
            }
        }

        Console.Error.WriteLine("shellbox: Shellbox accepts public-key authentication only.");
        return null;
    }

    /// <summary>
    /// Hands the command to the front door listening on <paramref name="socketPath"/> and plays its answer (lines to
    /// stdout and stderr; for a connect, ssh to the box on this process's terminal). The exit code to exit with, or
    /// null when no front door answers there (none runs, or it died and left its socket): the wrapper then does the
    /// work itself.
    /// </summary>
    public static int? TryFrontDoor(string? socketPath, string authKey, string? command)
    {
        if (string.IsNullOrEmpty(socketPath) || !File.Exists(socketPath))
        {
            return null;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }

        using var stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            stream.Write(Request(authKey, command ?? "", interactive: !Console.IsInputRedirected && !Console.IsOutputRedirected));
        }
        catch (IOException)
        {
            return null; // it closed on us before reading anything (it refused this account): nothing was done there
        }

        using var reader = new StreamReader(stream, Utf8);
        try
        {
            while (reader.ReadLine() is { } line)
            {
                using var reply = JsonDocument.Parse(line);
                foreach (var field in reply.RootElement.EnumerateObject())
                {
                    switch (field.Name)
                    {
                        case "out":
                            Console.Out.WriteLine(field.Value.GetString());
                            break;
                        case "err":
                            Console.Error.WriteLine(field.Value.GetString());
                            break;
                        case "exit":
                            return field.Value.GetInt32();
                        case "ssh":
                            var code = RunSsh(field.Value.EnumerateArray().Select(a => a.GetString() ?? "").ToList());

                            // The front door releases the session (the last one out suspends the box) once we have gone.
                            TrySend(stream, Encoding.ASCII.GetBytes($"{{\"exit\":{code}}}\n"));
                            return code;
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException)
        {
            // Told below, as a front door that went away.
        }

        Console.Error.WriteLine($"shellbox: the bastion's front door stopped answering ({DateTime.UtcNow:u}); try again.");
        return 1;
    }

    /// <summary>The request line (<see cref="FrontDoorRequest"/>), written without the reflection-based serializer: this runs in every login.</summary>
    private static byte[] Request(string authKey, string command, bool interactive)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("key", authKey);
            json.WriteString("command", command);
            json.WriteBoolean("interactive", interactive);
            json.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>ssh with exactly these arguments (never through a shell), on this process's stdin, stdout and stderr; its exit code.</summary>
    private static int RunSsh(IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo("ssh") { UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var ssh = Process.Start(start)!;
            ssh.WaitForExit();
            return ssh.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.Error.WriteLine($"shellbox: the bastion cannot start ssh ({e.Message}); tell the operator.");
            return 255;
        }
    }

    private static void TrySend(Stream stream, byte[] line)
    {
        try
        {
            stream.Write(line);
        }
        catch (IOException)
        {
            // The front door is gone; the session's lease ends without its heartbeats.
        }
    }
}
