namespace Shellbox.Azure;

/// <summary>The composition root of the Azure provider.</summary>
public static class AzureProvider
{
}
