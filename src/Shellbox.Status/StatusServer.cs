using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Shellbox.Core.Engine;
using Shellbox.Core.Errors;
using Shellbox.Core.Observability;

namespace Shellbox.Status;

/// <summary>
/// Serves GET /metrics (Prometheus text of the "Shellbox" Meter) and GET /pool/status (JSON) over
/// HttpListener, for either provider (the engine is the same). A scrape reads the store and the inventory at
/// most once per <see cref="StatusServerOptions.RefreshInterval"/>, and the pool gauges report that read.
/// Histograms and counters are those recorded in this process: run the reconcile loop beside the server
/// (or in it) to see its passes; every process's connects and passes are in the event log either way.
/// </summary>
public sealed class StatusServer : IAsyncDisposable
{
    public const string MetricsPath = "/metrics";
    public const string PoolStatusPath = "/pool/status";
    private const string PrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly ShellboxEngine engine;
    private readonly StatusServerOptions options;
    private readonly HttpListener listener;
    private readonly PrometheusExport export;
    private readonly CancellationTokenSource stopping = new();
    private readonly SemaphoreSlim refreshing = new(1, 1);
    private readonly ILogger log = ShellboxLog.For("Shellbox.Status");
    private Task loop = Task.CompletedTask;
    private PoolStatusDocument? latest;
    private DateTimeOffset latestAt;

    private StatusServer(ShellboxEngine engine, StatusServerOptions options, HttpListener listener)
    {
        this.engine = engine;
        this.options = options;
        this.listener = listener;
        export = new PrometheusExport(async cancellationToken => await RefreshAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The base address, e.g. http://127.0.0.1:9464/.</summary>
    public Uri Url => new(options.Prefix.Replace("+", "localhost", StringComparison.Ordinal));

    public StatusServerOptions Options => options;

    public DateTimeOffset Started { get; private init; }

    /// <summary>Listens at once; throws a service error naming the address when it cannot (port taken, no permission).</summary>
    public static StatusServer Start(ShellboxEngine engine, StatusServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var listener = new HttpListener { IgnoreWriteExceptions = true };
        listener.Prefixes.Add(options.Prefix);
        try
        {
            listener.Start();
        }
        catch (HttpListenerException e)
        {
            listener.Close();
            throw ShellboxException.Service("StatusServerCannotListen", $"The status server cannot listen on {options.Prefix}: {e.Message}", e);
        }

        var server = new StatusServer(engine, options, listener) { Started = engine.Time.GetUtcNow() };

        // The loop outlives the caller (a cmdlet): it must not carry the caller's log routing with it.
        using (ExecutionContext.SuppressFlow())
        {
            server.loop = Task.Run(server.AcceptAsync);
        }

        server.log.LogInformation("status server listening url={Url}", server.Url);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (stopping.IsCancellationRequested)
        {
            return;
        }

        stopping.Cancel();
        listener.Stop();
        listener.Close();
        await loop.ConfigureAwait(false);
        export.Dispose();
        stopping.Dispose();
        log.LogInformation("status server stopped url={Url}", Url);
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                if (!stopping.IsCancellationRequested)
                {
                    log.LogError("status server stopped accepting url={Url} error={ErrorType}: {ErrorMessage}", Url, e.GetType().Name, e.Message);
                }

                return;
            }

            _ = Task.Run(() => AnswerAsync(context));
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        var request = context.Request;
        using var response = context.Response;
        try
        {
            var path = request.Url?.AbsolutePath.TrimEnd('/') ?? "";
            if (request.HttpMethod is not ("GET" or "HEAD"))
            {
                await WriteAsync(response, 405, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes("Only GET is served.\n")).ConfigureAwait(false);
                return;
            }

            switch (path)
            {
                case MetricsPath:
                    using (var body = new MemoryStream())
                    {
                        await export.WriteAsync(body, stopping.Token).ConfigureAwait(false);
                        await WriteAsync(response, 200, PrometheusContentType, body.ToArray()).ConfigureAwait(false);
                    }

                    break;
                case PoolStatusPath:
                    var document = await RefreshAsync(stopping.Token).ConfigureAwait(false);
                    await WriteAsync(response, 200, "application/json; charset=utf-8", Encoding.UTF8.GetBytes(document.ToJson())).ConfigureAwait(false);
                    break;
                default:
                    await WriteAsync(response, 404, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes($"Not found. Try {MetricsPath} or {PoolStatusPath}.\n")).ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            // The scraper sees a 500 with one line; the operator sees the whole reason in the log.
            log.LogError("status request failed path={Path} error={ErrorType}: {ErrorMessage}", request.Url?.AbsolutePath, e.GetType().Name, e.Message);
            try
            {
                await WriteAsync(response, 500, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes($"{(e as ShellboxException)?.ErrorId ?? e.GetType().Name}: the status could not be read; see the Shellbox log.\n")).ConfigureAwait(false);
            }
            catch (Exception write) when (write is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                log.LogDebug("status error answer not sent error={ErrorType}: {ErrorMessage}", write.GetType().Name, write.Message);
            }
        }
    }

    /// <summary>The pool document, read again when older than the refresh interval; the gauges report the same read.</summary>
    private async Task<PoolStatusDocument> RefreshAsync(CancellationToken cancellationToken)
    {
        await refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = engine.Time.GetUtcNow();
            if (latest is null || now - latestAt >= options.RefreshInterval)
            {
                latest = await PoolStatusDocument.ReadAsync(engine, cancellationToken).ConfigureAwait(false);
                latestAt = now;
                ShellboxMetrics.ObservePool(latest.Report!, latest.GoldenVersion);
            }

            return latest;
        }
        finally
        {
            refreshing.Release();
        }
    }

    private static async Task WriteAsync(HttpListenerResponse response, int status, string contentType, byte[] body)
    {
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength64 = body.Length;
        await response.OutputStream.WriteAsync(body).ConfigureAwait(false);
    }
}
