using System.Text.Json;
using System.Text.Json.Serialization;

namespace Shellbox.Local.Files;

/// <summary>
/// Crash-safe small files: write a temp file beside the target, fsync it, rename it over the target,
/// fsync the folder. A reader sees the old content or the new one, never half of either.
/// </summary>
internal static class AtomicFile
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // keys stay readable: '+' not \u002B
    };

    public static void WriteAllText(string path, string text)
    {
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(text);
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }

        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    public static void WriteJson<T>(string path, T value) => WriteAllText(path, JsonSerializer.Serialize(value, Json));

    /// <summary>The file's content, or null when it does not exist.</summary>
    public static T? ReadJson<T>(string path)
        where T : class
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }

        return JsonSerializer.Deserialize<T>(text, Json);
    }

    /// <summary>Flushes a file's data to disk (used on files written by other processes, e.g. QEMU's RAM file).</summary>
    public static void Sync(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Makes a rename or a new entry in <paramref name="directory"/> durable.</summary>
    public static void SyncDirectory(string directory)
    {
        // .NET 8 cannot open a directory as a file handle: fsync it through libc.
        var fd = Libc.open(directory, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            return; // not fatal: the rename happened; only its durability across a power cut is weaker
        }

        try
        {
            _ = Libc.fsync(fd);
        }
        finally
        {
            _ = Libc.close(fd);
        }
    }
}
