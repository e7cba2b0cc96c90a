namespace Shellbox.ArmEmulator.Tests;

internal static class Polling
{
    /// <summary>Polls an Azure-AsyncOperation URL until it reports Succeeded (fails on Failed or after 10 s).</summary>
    public static async Task UntilSucceededAsync(EmulatorSession session, string statusUrl)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var (status, body, _) = await session.SendAsync(Azure.Core.RequestMethod.Get, statusUrl);
            Assert.Equal(200, status);
            var state = body!["status"]!.GetValue<string>();
            if (state == "Succeeded") return;
            Assert.NotEqual("Failed", state);
            Assert.True(DateTime.UtcNow < deadline, "the operation did not complete");
            await Task.Delay(20);
        }
    }
}
