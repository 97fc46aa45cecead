using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Miil.ML.Testing;

/// <summary>
/// A Hugging Face hub on 127.0.0.1 for tests and benchmarks: <c>/{repo}/resolve/{revision}/{file}</c>
/// answers as the hub does (X-Repo-Commit; for large files a 302 to a CDN address with X-Linked-Etag,
/// the SHA-256, and X-Linked-Size; 404s with X-Error-Code), <c>/cdn/{sha256}</c> serves the bytes with
/// range requests. It can cut a transfer mid-body, corrupt one, slow it down, and demand a token.
/// Nothing leaves the machine.
/// </summary>
internal sealed class LoopbackHub : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private readonly ConcurrentDictionary<string, Repo> _repos = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);
    private int _cutsLeft;

    private sealed record Repo(Dictionary<string, string> Revisions, Dictionary<string, Dictionary<string, byte[]>> Commits);

    public LoopbackHub()
    {
        // A free port: bind port 0, read it, release it, listen on it (HttpListener cannot take port 0).
        for (int attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            // The CDN answers under another host name, as the hub's does: clients must not send it the token.
            _listener.Prefixes.Add($"http://localhost:{Port}/");
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 10)
            {
            }
        }
        _loop = Task.Run(Serve);
    }

    public int Port { get; }

    /// <summary>What HF_ENDPOINT should be.</summary>
    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>Where the redirects send the bytes: the same server under another host name.</summary>
    public string CdnEndpoint => $"http://localhost:{Port}";

    /// <summary>When set, every resolve request must carry "Authorization: Bearer {token}" (else 401).</summary>
    public string? RequiredToken { get; set; }

    /// <summary>Flip one byte of every body served from now on.</summary>
    public bool Corrupt { get; set; }

    /// <summary>Bytes per second of CDN bodies (0: no limit).</summary>
    public int BytesPerSecond { get; set; }

    /// <summary>Requests seen, by method and path, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Range headers of CDN requests ("" for none).</summary>
    public ConcurrentQueue<string> Ranges { get; } = new();

    /// <summary>Whether any CDN request carried an Authorization header (the hub's clients drop it for the signed address).</summary>
    public bool CdnSawAuthorization { get; private set; }

    /// <summary>The next <paramref name="count"/> CDN bodies are cut after <paramref name="bytes"/> bytes.</summary>
    public int CutAfterBytes { get; private set; }

    public void CutNext(int bytes, int count = 1)
    {
        CutAfterBytes = bytes;
        Interlocked.Exchange(ref _cutsLeft, count);
    }

    /// <summary>Publishes files as one commit of <paramref name="repoId"/> at <paramref name="revision"/>; returns the commit hash.</summary>
    public string Publish(string repoId, string revision, params (string File, byte[] Content)[] files)
    {
        Repo repo = _repos.GetOrAdd(repoId, _ => new Repo(new(StringComparer.Ordinal), new(StringComparer.Ordinal)));
        string commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(repoId + revision + string.Join(",", files.Select(f => f.File + Convert.ToHexString(SHA256.HashData(f.Content)))))));
        lock (repo)
        {
            repo.Commits[commit] = files.ToDictionary(f => f.File, f => f.Content, StringComparer.Ordinal);
            repo.Revisions[revision] = commit;
        }
        foreach ((_, byte[] content) in files)
        {
            _blobs[Convert.ToHexStringLower(SHA256.HashData(content))] = content;
        }
        return commit;
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => Handle(context));
        }
    }

    private async Task Handle(HttpListenerContext context)
    {
        HttpListenerRequest request = context.Request;
        HttpListenerResponse response = context.Response;
        string path = request.Url!.AbsolutePath;
        Requests.Enqueue($"{request.HttpMethod} {path}");
        try
        {
            if (path.StartsWith("/cdn/", StringComparison.Ordinal))
            {
                await ServeBlob(path["/cdn/".Length..], request, response).ConfigureAwait(false);
                return;
            }
            int resolve = path.IndexOf("/resolve/", StringComparison.Ordinal);
            if (resolve < 0)
            {
                Error(response, 404, null, "Not a hub address");
                return;
            }
            if (RequiredToken is string token && request.Headers["Authorization"] != "Bearer " + token)
            {
                Error(response, 401, null, "Invalid credentials in Authorization header");
                return;
            }
            string repoId = path[1..resolve];
            string[] rest = path[(resolve + "/resolve/".Length)..].Split('/', 2);
            string revision = Uri.UnescapeDataString(rest[0]);
            string file = rest.Length > 1 ? string.Join('/', rest[1].Split('/').Select(Uri.UnescapeDataString)) : "";
            if (!_repos.TryGetValue(repoId, out Repo? repo))
            {
                Error(response, 404, "RepoNotFound", "Repository not found");
                return;
            }
            string? commit;
            Dictionary<string, byte[]>? files;
            lock (repo)
            {
                commit = repo.Commits.ContainsKey(revision) ? revision : repo.Revisions.GetValueOrDefault(revision);
                files = commit is null ? null : repo.Commits[commit];
            }
            if (commit is null || files is null)
            {
                Error(response, 404, "RevisionNotFound", "Invalid rev id: " + revision);
                return;
            }
            response.Headers["X-Repo-Commit"] = commit;
            if (!files.TryGetValue(file, out byte[]? content))
            {
                Error(response, 404, "EntryNotFound", "Entry not found");
                return;
            }
            // Large (LFS) files: a redirect to the CDN with the linked ETag (the SHA-256) and size, as the hub answers.
            string sha = Convert.ToHexStringLower(SHA256.HashData(content));
            response.Headers["X-Linked-Etag"] = $"\"{sha}\"";
            response.Headers["X-Linked-Size"] = content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
            response.Headers["ETag"] = $"\"{sha[..40]}\"";
            response.StatusCode = 302;
            response.RedirectLocation = $"{CdnEndpoint}/cdn/{sha}?signature=loopback";
            response.ContentLength64 = 0;
            response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            // the client went away
        }
    }

    private async Task ServeBlob(string sha, HttpListenerRequest request, HttpListenerResponse response)
    {
        if (request.Headers["Authorization"] is not null)
        {
            CdnSawAuthorization = true;
        }
        string range = request.Headers["Range"] ?? "";
        Ranges.Enqueue(range);
        if (!_blobs.TryGetValue(sha, out byte[]? content))
        {
            Error(response, 404, null, "No such object");
            return;
        }
        long start = 0;
        if (range.StartsWith("bytes=", StringComparison.Ordinal) && long.TryParse(range["bytes=".Length..].TrimEnd('-'), out long from))
        {
            if (from >= content.Length)
            {
                response.StatusCode = 416;
                response.Headers["Content-Range"] = $"bytes */{content.Length}";
                response.Close();
                return;
            }
            start = from;
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }
        byte[] body = content[(int)start..];
        if (Corrupt && body.Length > 0)
        {
            body = (byte[])body.Clone();
            body[body.Length / 2] ^= 0x5A;
        }
        response.Headers["Accept-Ranges"] = "bytes";
        response.ContentLength64 = body.Length;
        if (request.HttpMethod == "HEAD")
        {
            response.Close();
            return;
        }
        bool cut = Interlocked.Decrement(ref _cutsLeft) >= 0;
        int limit = cut ? Math.Min(CutAfterBytes, body.Length) : body.Length;
        Stream output = response.OutputStream;
        const int chunk = 16 * 1024;
        for (int at = 0; at < limit; at += chunk)
        {
            int n = Math.Min(chunk, limit - at);
            await output.WriteAsync(body.AsMemory(at, n)).ConfigureAwait(false);
            await output.FlushAsync().ConfigureAwait(false);
            if (BytesPerSecond > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds((double)n / BytesPerSecond)).ConfigureAwait(false);
            }
        }
        if (cut)
        {
            // The connection drops mid-body. An abort resets it, and a reset discards what the client has not
            // read yet: give it time to take the bytes it was sent, so that it resumes with a range.
            await Task.Delay(TimeSpan.FromMilliseconds(300)).ConfigureAwait(false);
            response.Abort();
            return;
        }
        response.Close();
    }

    private static void Error(HttpListenerResponse response, int status, string? code, string message)
    {
        response.StatusCode = status;
        if (code is not null)
        {
            response.Headers["X-Error-Code"] = code;
        }
        response.Headers["X-Error-Message"] = message;
        response.ContentLength64 = 0;
        response.Close();
    }
}
