namespace Shellbox.PowerShell.FrontDoor;

/// <summary>Where an ssh command's lines go: the wrapper's own stdout and stderr, or a front-door client's socket.</summary>
internal interface ISshCommandOutput
{
    void Out(string line);

    void Err(string line);
}

/// <summary>The lines of a command run in the wrapper's own process: straight to its stdout and stderr.</summary>
internal sealed class ConsoleOutput : ISshCommandOutput
{
    public void Out(string line) => Console.Out.WriteLine(line);

    public void Err(string line) => Console.Error.WriteLine(line);
}
