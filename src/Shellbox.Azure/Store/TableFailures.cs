using Azure;
using Shellbox.Core.Errors;

namespace Shellbox.Azure.Store;

/// <summary>
/// Turns what the table service (or the network) answered into one sentence an operator can act on. Only the
/// endpoint host is named: never a connection string, key or SAS, which the SDK's own messages may echo.
/// </summary>
internal static class TableFailures
{
    public static ShellboxException From(Exception failure, Uri endpoint, string doing)
    {
        var host = endpoint.IsDefaultPort ? endpoint.Host : $"{endpoint.Host}:{endpoint.Port}";
        var answered = failure is RequestFailedException { Status: > 0 } r ? r : (failure as AggregateException)?.InnerExceptions.OfType<RequestFailedException>().LastOrDefault(e => e.Status > 0);
        return answered switch
        {
            { Status: 401 or 403 } => ShellboxException.Service(
                "StoreAccessDenied",
                $"The pool table at {host} answered {answered.Status} while {doing}: check the identity has Storage Table Data Contributor on the storage account (or the shared key is right).",
                failure),
            { } => ShellboxException.Service(
                "StoreUnavailable",
                $"The pool table at {host} answered {answered.Status} ({answered.ErrorCode ?? "no error code"}) while {doing}.",
                failure),
            null => ShellboxException.Service(
                "StoreUnavailable",
                $"The pool table at {host} did not answer while {doing}: check the table endpoint and that the storage account is reachable.",
                failure),
        };
    }

    /// <summary>Failures that are the service's or the network's, not a conflict or a cancellation.</summary>
    public static bool IsServiceFailure(Exception e) =>
        e is RequestFailedException or AggregateException or HttpRequestException or TimeoutException;
}
