using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.ML;

namespace Miil.ML.TorchSharp.Hub;

/// <summary>
/// Downloads model files from the Hugging Face hub (or any address) into the hub's cache, as
/// <c>huggingface_hub</c> does: a HEAD request for the commit, the file's ETag (its SHA-256 for large
/// files) and size; the body into <c>blobs/&lt;etag&gt;.incomplete</c>, resumed with range requests
/// after a cut; verified (size, SHA-256) before it is moved into place; one process at a time per file
/// (a lock file). Offline, or without network, the cache answers; errors name the model, the address
/// and what to do.
/// </summary>
/// <remarks>Thread-safe; dispose it to release its HTTP connections.</remarks>
internal sealed class HubClient : IDisposable
{
    private const int BufferSize = 1 << 20;

    private readonly HttpClient _http;
    private readonly HubCache _cache;
    private readonly MLContext? _log;

    /// <param name="options">Endpoint, cache, token, offline mode; null for the environment's (<see cref="HubOptions"/>).</param>
    /// <param name="mlContext">Where progress and fallbacks are logged; null for nowhere.</param>
    /// <param name="handler">The HTTP handler (tests, proxies); null for a default one. Redirects are followed here, not by the handler.</param>
    public HubClient(HubOptions? options = null, MLContext? mlContext = null, HttpMessageHandler? handler = null)
    {
        Options = options ?? new HubOptions();
        _cache = new HubCache(Options.CacheDirectory);
        _log = mlContext;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None }, disposeHandler: true)
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,  // per-read timeouts below; a large file takes as long as it takes
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Miil.ML", typeof(HubClient).Assembly.GetName().Version?.ToString() ?? "0"));
    }

    /// <summary>The endpoint, cache and token in use.</summary>
    public HubOptions Options { get; }

    /// <summary>The file <paramref name="file"/> of hub repository <paramref name="repoId"/> at <paramref name="revision"/>, from the cache or downloaded into it.</summary>
    /// <param name="repoId">The repository, e.g. <c>timm/tresnet_m.miil_in1k</c>.</param>
    /// <param name="file">The file's path in the repository, e.g. <c>model.safetensors</c>.</param>
    /// <param name="revision">A branch, tag or commit. Default <c>main</c>.</param>
    /// <param name="sha256">The SHA-256 the file must have (a pin on top of the hub's own digest); null for the hub's alone.</param>
    /// <param name="progress">Receives download progress.</param>
    /// <param name="cancellationToken">Stops the transfer (what arrived stays, to resume).</param>
    /// <exception cref="HubDownloadException">The file cannot be had: offline without it, refused, missing, damaged, no space.</exception>
    public async Task<HubFile> DownloadAsync(string repoId, string file, string revision = "main", string? sha256 = null,
        IProgress<HubDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        CheckNames(repoId, file, revision);
        string source = $"{repoId}@{revision}/{file}";
        string? pin = sha256?.Trim().ToLowerInvariant();
        if (pin is not null && !HubCache.Sha256Hex().IsMatch(pin))
        {
            throw new ArgumentException($"'{sha256}' is not a SHA-256 (64 hex digits).", nameof(sha256));
        }
        if (HubCache.CommitHash().IsMatch(revision) && _cache.Cached(repoId, revision, file) is string pinned)
        {
            return Verified(pinned, source, revision, pin);
        }
        if (Options.Offline)
        {
            return FromCache(repoId, file, revision, source, pin, "offline mode is on (HF_HUB_OFFLINE)", null);
        }

        Uri address = new($"{Options.Endpoint}/{repoId}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}");
        Metadata meta;
        try
        {
            meta = await HeadAsync(address, source, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsTransient(e, cancellationToken))
        {
            // No network (or no answer): the cache may still have it, as in huggingface_hub.
            return FromCache(repoId, file, revision, source, pin, $"the hub at {Options.Endpoint} cannot be reached ({e.Message})", e);
        }

        _cache.WriteRef(repoId, revision, meta.Commit);
        string pointer = _cache.Snapshot(repoId, meta.Commit, file);
        if (File.Exists(pointer))
        {
            return Verified(pointer, source, meta.Commit, pin, meta.Sha256);
        }
        string blob = _cache.Blob(repoId, meta.Etag);
        bool downloaded = false;
        using (await FileLock.AcquireAsync(_cache.Lock(repoId, meta.Etag), source, _log, cancellationToken).ConfigureAwait(false))
        {
            if (!File.Exists(blob))
            {
                await TransferAsync(meta.Location, meta.SendToken, blob, meta.Size, meta.Sha256, pin, source, progress, cancellationToken).ConfigureAwait(false);
                downloaded = true;
            }
            _cache.Link(blob, pointer);
        }
        return new HubFile(pointer, source, meta.Commit, meta.Sha256 ?? pin, new FileInfo(pointer).Length, downloaded);
    }

    /// <summary>A file from another host (not the hub), cached under <c>miil-ml--downloads</c>; its size is checked against the server's, its SHA-256 against <paramref name="sha256"/> when given.</summary>
    /// <param name="address">The file's address.</param>
    /// <param name="sha256">The SHA-256 it must have; null to check the size only.</param>
    /// <param name="progress">Receives download progress.</param>
    /// <param name="cancellationToken">Stops the transfer (what arrived stays, to resume).</param>
    /// <exception cref="HubDownloadException">The file cannot be had.</exception>
    public async Task<HubFile> DownloadAsync(Uri address, string? sha256 = null, IProgress<HubDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!address.IsAbsoluteUri || address.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"'{address}' is not an http(s) address.", nameof(address));
        }
        string path = _cache.Download(address);
        string source = address.ToString();
        string? pin = sha256?.Trim().ToLowerInvariant();
        if (File.Exists(path))
        {
            return Verified(path, source, null, pin);
        }
        if (Options.Offline)
        {
            throw new HubDownloadException(HubErrorKind.NotCached,
                $"'{source}' is not in the cache and offline mode is on (HF_HUB_OFFLINE). Download it elsewhere and place it at '{path}', or pass its local path instead of the name.");
        }
        using (await FileLock.AcquireAsync(path + ".lock", source, _log, cancellationToken).ConfigureAwait(false))
        {
            if (!File.Exists(path))
            {
                await TransferAsync(address, sendToken: false, path, size: null, hubSha256: null, pin, source, progress, cancellationToken).ConfigureAwait(false);
                return new HubFile(path, source, null, pin, new FileInfo(path).Length, true);
            }
        }
        return Verified(path, source, null, pin);
    }

    /// <summary>Synchronous <see cref="DownloadAsync(string, string, string, string?, IProgress{HubDownloadProgress}?, CancellationToken)"/>.</summary>
    public HubFile Download(string repoId, string file, string revision = "main", string? sha256 = null, IProgress<HubDownloadProgress>? progress = null)
        => DownloadAsync(repoId, file, revision, sha256, progress).GetAwaiter().GetResult();

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private sealed record Metadata(string Commit, string Etag, string? Sha256, long Size, Uri Location, bool SendToken);

    private static void CheckNames(string repoId, string file, string revision)
    {
        ArgumentException.ThrowIfNullOrEmpty(repoId);
        ArgumentException.ThrowIfNullOrEmpty(file);
        ArgumentException.ThrowIfNullOrEmpty(revision);
        if (!HubCache.RepoId().IsMatch(repoId) || repoId.Contains("--", StringComparison.Ordinal) || repoId.Contains("..", StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{repoId}' is not a hub repository name (org/name: letters, digits, '-', '_', '.').", nameof(repoId));
        }
        if (file.Split('/').Any(s => s is "" or "." or "..") || file.Contains('\\') || Path.IsPathRooted(file))
        {
            throw new ArgumentException($"'{file}' is not a file path inside a repository.", nameof(file));
        }
        if (revision.Split('/').Any(s => s is "" or "." or ".."))
        {
            throw new ArgumentException($"'{revision}' is not a revision.", nameof(revision));
        }
    }

    /// <summary>The HEAD request: commit, ETag (the SHA-256 of large files), size and where the bytes are (relative redirects followed, an absolute one is the download address).</summary>
    private async Task<Metadata> HeadAsync(Uri address, string source, CancellationToken cancellationToken)
    {
        Uri url = address;
        for (int hop = 0; hop < 10; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, url);
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            Authorize(request, send: true);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Options.Timeout);
            using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (status is >= 300 and < 400 && response.Headers.Location is Uri location && !location.IsAbsoluteUri)
            {
                url = new Uri(url, location.OriginalString.Split('?')[0]);  // renamed repository: same host, new path
                continue;
            }
            if (status >= 400)
            {
                throw Refusal(response, source, url);
            }
            string? commit = Header(response, "X-Repo-Commit");
            string? etag = (Header(response, "X-Linked-Etag") ?? response.Headers.ETag?.Tag ?? Header(response, "ETag"))?.TrimStart('W', '/').Trim('"');
            bool redirect = status is >= 300 and < 400;
            long? size = long.TryParse(Header(response, "X-Linked-Size"), out long linked) ? linked
                : redirect ? null : response.Content.Headers.ContentLength;
            if (commit is null || etag is null || size is null)
            {
                throw new HubDownloadException(HubErrorKind.Transfer,
                    $"{url} answered without the hub's headers ({(commit is null ? "X-Repo-Commit" : etag is null ? "ETag" : "size")} missing): HF_ENDPOINT ({Options.Endpoint}) does not look like a Hugging Face hub.");
            }
            Uri download = redirect && response.Headers.Location is Uri absolute ? absolute : url;
            return new Metadata(commit, etag, HubCache.Sha256Hex().IsMatch(etag) ? etag : null, size.Value, download,
                SendToken: download.Host == address.Host && download.Port == address.Port);
        }
        throw new HubDownloadException(HubErrorKind.Transfer, $"{address} redirects more than 10 times.");
    }

    /// <summary>Downloads into <c>target.incomplete</c> (resuming what is there), verifies, and moves it to <paramref name="target"/>.</summary>
    private async Task TransferAsync(Uri address, bool sendToken, string target, long? size, string? hubSha256, string? pin, string source,
        IProgress<HubDownloadProgress>? progress, CancellationToken cancellationToken)
    {
        string incomplete = target + ".incomplete";
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        Log($"Downloading {source}" + (size is long s ? $" ({s / 1048576.0:F1} MiB)" : "") + $" into {Path.GetDirectoryName(target)}.");
        var clock = Stopwatch.StartNew();
        long startedAt = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                size = await GetAsync(address, sendToken, incomplete, size, source, progress, clock, startedAt, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (IOException e) when (IsDiskFull(e))
            {
                throw new HubDownloadException(HubErrorKind.DiskFull,
                    $"The disk holding '{Path.GetDirectoryName(target)}' is full while downloading {source}" + (size is long n ? $" ({n} bytes)" : "")
                    + ". Free space or point HF_HUB_CACHE at a larger disk; the partial file stays and the next attempt resumes it.", e);
            }
            catch (Exception e) when (attempt < Options.ResumeAttempts && IsTransient(e, cancellationToken))
            {
                Log($"The transfer of {source} was cut ({e.Message}); resuming at byte {(File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0)}.");
                await Task.Delay(TimeSpan.FromMilliseconds(200 * (attempt + 1)), cancellationToken).ConfigureAwait(false);
            }
        }

        long length = new FileInfo(incomplete).Length;
        if (size is long expected && length != expected)
        {
            File.Delete(incomplete);
            throw new HubDownloadException(HubErrorKind.Integrity, $"{source} ({address}) arrived with {length} bytes but {expected} were declared; nothing was kept. Try again.");
        }
        if (hubSha256 is not null || pin is not null)
        {
            string actual = Sha256Of(incomplete);
            foreach ((string? wanted, string whose) in new[] { (hubSha256, "the hub declares"), (pin, "was pinned") })
            {
                if (wanted is not null && wanted != actual)
                {
                    File.Delete(incomplete);
                    throw new HubDownloadException(HubErrorKind.Integrity,
                        $"{source} ({address}) has SHA-256 {actual} but {wanted} {whose}; nothing was kept in the cache.");
                }
            }
        }
        File.Move(incomplete, target, overwrite: false);
        Log($"Downloaded {source}: {length / 1048576.0:F1} MiB in {clock.Elapsed.TotalSeconds:F1} s" + ((hubSha256 ?? pin) is not null ? ", SHA-256 verified." : "."));
    }

    /// <summary>One GET of the rest of the file (a range request from what is on disk); returns the total size.</summary>
    private async Task<long?> GetAsync(Uri address, bool sendToken, string incomplete, long? size, string source,
        IProgress<HubDownloadProgress>? progress, Stopwatch clock, long startedAt, CancellationToken cancellationToken)
    {
        long have = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
        if (size is long known && have == known)
        {
            return size;
        }
        if (size is long declared && have > declared)
        {
            File.Delete(incomplete);  // longer than the file: not a prefix of it
            have = 0;
        }
        Uri url = address;
        bool token = sendToken;
        for (int hop = 0; hop < 10; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (have > 0)
            {
                request.Headers.Range = new RangeHeaderValue(have, null);
            }
            Authorize(request, token);
            using var headers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            headers.CancelAfter(Options.Timeout);
            using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headers.Token).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (status is >= 300 and < 400 && response.Headers.Location is Uri location)
            {
                Uri next = location.IsAbsoluteUri ? location : new Uri(url, location);
                token &= next.Host == url.Host && next.Port == url.Port;  // a signed CDN address takes no token
                url = next;
                continue;
            }
            if (status == 416 && have > 0)
            {
                File.Delete(incomplete);  // the server has no such range: what is on disk is not this file's prefix
                have = 0;
                continue;
            }
            if (status >= 400)
            {
                throw Refusal(response, source, url);
            }
            bool appending = status == 206;
            if (!appending)
            {
                have = 0;  // a full body (the server ignored the range): start over
            }
            long? total = size ?? (appending ? response.Content.Headers.ContentRange?.Length : response.Content.Headers.ContentLength);
            await using var output = new FileStream(incomplete, appending ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, BufferSize);
            await using Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            byte[] buffer = new byte[BufferSize];
            long received = have;
            long lastReport = 0;
            while (true)
            {
                using var read = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                read.CancelAfter(Options.Timeout);
                int n = await body.ReadAsync(buffer, read.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                received += n;
                if (progress is not null && (received - lastReport >= 4 * BufferSize || received == total))
                {
                    lastReport = received;
                    progress.Report(new HubDownloadProgress(source, received, total, (received - startedAt) / Math.Max(1e-3, clock.Elapsed.TotalSeconds)));
                }
            }
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (total is long expected && received < expected)
            {
                throw new IOException($"the connection closed after {received} of {expected} bytes");
            }
            progress?.Report(new HubDownloadProgress(source, received, total, (received - startedAt) / Math.Max(1e-3, clock.Elapsed.TotalSeconds)));
            return total;
        }
        throw new HubDownloadException(HubErrorKind.Transfer, $"{address} redirects more than 10 times.");
    }

    private HubFile FromCache(string repoId, string file, string revision, string source, string? pin, string why, Exception? inner)
    {
        if (_cache.Cached(repoId, revision, file) is string path)
        {
            Log($"Using the cached {source}: {why}.");
            return Verified(path, source, _cache.CommitOf(repoId, revision), pin);
        }
        string folder = _cache.Storage(repoId);
        throw new HubDownloadException(HubErrorKind.NotCached,
            $"{source} is not in the cache ({Options.CacheDirectory}) and {why}. Either download it where there is network "
            + $"(huggingface-cli download {repoId} {file} --revision {revision}, with HF_HUB_CACHE pointing at a copy of this cache), "
            + $"or place the file by hand at '{Path.Combine(folder, "snapshots", "<commit>", file)}' with the 40-hex commit written (no newline) "
            + $"into '{Path.Combine(folder, "refs", revision)}', or pass the file's local path instead of the name.", inner);
    }

    /// <summary>A cached file, checked against a pin (or the hub digest it was stored under) when one is known.</summary>
    private static HubFile Verified(string path, string source, string? commit, string? pin, string? hubSha256 = null)
    {
        string? digest = null;
        if (pin is not null)
        {
            digest = Sha256Of(path);
            if (digest != pin)
            {
                throw new HubDownloadException(HubErrorKind.Integrity, $"The cached {source} ('{path}') has SHA-256 {digest} but {pin} was pinned. Delete it to download it again.");
            }
        }
        return new HubFile(path, source, commit, digest ?? hubSha256, new FileInfo(path).Length, false);
    }

    private HubDownloadException Refusal(HttpResponseMessage response, string source, Uri url)
    {
        string code = Header(response, "X-Error-Code") ?? "";
        string message = Header(response, "X-Error-Message") is { } m ? $" ({m})" : "";
        int status = (int)response.StatusCode;
        return status switch
        {
            401 or 403 when code != "RepoNotFound" => new HubDownloadException(HubErrorKind.Unauthorized,
                $"{url} refused {source} ({status}{message}). " + (Options.Token is null
                    ? "No token is set: set HF_TOKEN (or log in with huggingface-cli) if the model is gated or private, and accept its terms on the hub."
                    : "The token (HF_TOKEN) was sent: check that it is valid and that its account has accepted the model's terms.")),
            404 or 401 when code == "EntryNotFound" => new HubDownloadException(HubErrorKind.FileNotFound,
                $"The repository has no file for {source}{message}: check the file name."),
            404 or 401 => new HubDownloadException(HubErrorKind.NotFound, code == "RevisionNotFound"
                ? $"The revision of {source} does not exist{message}: check the branch, tag or commit."
                : $"{source} was not found at {url} ({status}{message}): check the model name" + (Options.Token is null ? ", or set HF_TOKEN if it is private." : ".")),
            _ => new HubDownloadException(HubErrorKind.Transfer, $"{url} answered {status} {response.ReasonPhrase}{message} for {source}."),
        };
    }

    private void Authorize(HttpRequestMessage request, bool send)
    {
        if (send && Options.Token is string token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    private static string? Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out IEnumerable<string>? values) || response.Content.Headers.TryGetValues(name, out values) ? values.FirstOrDefault() : null;

    private static string Sha256Of(string path)
    {
        using FileStream stream = new(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>A failure of the network or the server's connection, not of the request itself nor the caller's cancellation.</summary>
    private static bool IsTransient(Exception e, CancellationToken cancellationToken)
        => e is not HubDownloadException && !cancellationToken.IsCancellationRequested && e is IOException or HttpRequestException or OperationCanceledException;

    /// <summary>ENOSPC on Unix, ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL on Windows.</summary>
    private static bool IsDiskFull(IOException e) => (e.HResult & 0xFFFF) is 28 or 112 or 39;

    private void Log(string message)
    {
        if (_log is not null)
        {
            ContextLog.Info(_log, nameof(HubClient), message);
        }
    }
}
