using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML;
using Miil.ML.Datasets;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Models.TResNet;

namespace Miil.ML.Benchmarks;

/// <summary>
/// <c>serve</c>: examples/ScoringService on a loopback port under 1, 8 and 32 concurrent clients posting
/// built-in images, micro-batching on and off (one ONNX Runtime call per request), for the tiny model at
/// 64 px and TResNet-M at 224: requests/s, p50 and p99 latency. <c>serve soak</c>: 10,000 requests at 32
/// clients: resident memory of the service, failures, and every result against scoring the image alone.
/// Usage: <c>serve [--config tiny:64] [--config M:224] [--requests N]</c> or <c>serve soak [N]</c>.
/// </summary>
internal static partial class ServingBenchmark
{
    private static readonly int[] Clients = [1, 8, 32];

    public static int Run(string[] args)
    {
        string folder = Directory.CreateTempSubdirectory("miil-serve-bench-").FullName;
        try
        {
            if (args.Length > 0 && args[0] == "soak")
            {
                return Soak(folder, args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000);
            }
            var configs = new List<(string Arch, int Size)>();
            int? requests = null;
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == "--config")
                {
                    string[] p = args[++i].Split(':');
                    configs.Add((p[0], int.Parse(p[1], CultureInfo.InvariantCulture)));
                }
                else if (args[i] == "--requests")
                {
                    requests = int.Parse(args[++i], CultureInfo.InvariantCulture);
                }
            }
            if (configs.Count == 0)
            {
                configs.AddRange([("tiny", 64), ("M", 224)]);
            }
            Console.WriteLine($"# Serving, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, CPU, loopback HTTP (examples/ScoringService, {ExampleApps.Dll("ScoringService")})");
            Console.WriteLine("Clients post PNGs of the model's size one at a time (each waits for its answer); micro-batching: up to 16 images or 2 ms (tiny) / 10 ms (M); off: one ONNX Runtime call per request, concurrently.");
            Console.WriteLine("| model | clients | micro-batching | requests | req/s | p50 ms | p99 ms | mean batch | vs off |");
            Console.WriteLine("|---|---:|---|---:|---:|---:|---:|---:|---:|");
            foreach ((string arch, int size) in configs)
            {
                (string onnx, byte[][] images) = Prepare(folder, arch, size, 64);
                var off = new Dictionary<int, double>();
                foreach (bool batching in new[] { false, true })
                {
                    int maxBatch = batching ? 16 : 1;
                    double delay = arch == "tiny" ? 2 : 10;
                    using var service = new Service(onnx, maxBatch, delay);
                    service.Warm(images);
                    service.MeanBatch();
                    foreach (int clients in Clients)
                    {
                        int count = requests ?? (arch == "tiny" ? Math.Max(400, clients * 40) : Math.Max(32, clients * 4));
                        (double rate, double p50, double p99, _, _) = service.Load(images, clients, count);
                        double meanBatch = service.MeanBatch();
                        if (!batching)
                        {
                            off[clients] = rate;
                        }
                        string ratio = batching && off.TryGetValue(clients, out double baseline) ? $"{rate / baseline:F2}x" : "1.00x";
                        Console.WriteLine($"| {(arch == "tiny" ? "TResNet-tiny ([1,1,1,1] x0.25)" : "TResNet-" + arch)} | {clients} | {(batching ? "on" : "off")} | {count} | {rate:F1} | {p50:F1} | {p99:F1} | {meanBatch:F1} | {ratio} |");
                    }
                }
            }
            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static int Soak(string folder, int requests)
    {
        (string onnx, byte[][] images) = Prepare(folder, "tiny", 64, 200);
        Console.WriteLine($"# Serving soak, {DateTime.UtcNow:yyyy-MM-dd}: {requests} requests from 32 clients, tiny model at 64 px, micro-batching on (16 images or 2 ms)");
        using var alone = new OnnxImageScorer(new MLContext(), File.ReadAllBytes(onnx));
        string[] paths = Enumerable.Range(0, images.Length).Select(i => Path.Combine(folder, $"soak-{i}.png")).ToArray();
        for (int i = 0; i < images.Length; i++)
        {
            File.WriteAllBytes(paths[i], images[i]);
        }
        float[][] expected = paths.Select(p => alone.Score([p]).Scores).ToArray();
        using var service = new Service(onnx, 16, 2);
        service.Warm(images);
        double before = service.ResidentMiB();
        var samples = new List<(int Done, double Rss)>();
        int done = 0, mismatched = 0, failed = 0;
        const int chunk = 1000;
        while (done < requests)
        {
            int n = Math.Min(chunk, requests - done);
            (_, _, _, int bad, int wrong) = service.Load(images, 32, n, expected);
            failed += bad;
            mismatched += wrong;
            done += n;
            samples.Add((done, service.ResidentMiB()));
        }
        Console.WriteLine("| requests | service resident (MiB) |");
        Console.WriteLine("|---:|---:|");
        Console.WriteLine($"| 0 (after warm-up) | {before:F0} |");
        samples.ForEach(s => Console.WriteLine($"| {s.Done} | {s.Rss:F0} |"));
        double first = samples[0].Rss, highest = samples.Max(s => s.Rss);
        Console.WriteLine($"After the first {chunk}: {first:F0} MiB; highest later {highest:F0} MiB (drift {100 * (highest - first) / first:F1}%); "
            + $"failed valid requests: {failed}; results differing from scoring the image alone: {mismatched}.");
        return failed == 0 && mismatched == 0 ? 0 : 1;
    }

    private static (string Onnx, byte[][] Images) Prepare(string folder, string arch, int size, int count)
    {
        string dir = Path.Combine(folder, $"{arch}-{size}");
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = count, ImageSize = size, ClassCount = 20, Seed = 5 }, dir);
        byte[][] images = File.ReadAllLines(manifest).Skip(1).Select(l => File.ReadAllBytes(Path.Combine(dir, l.Split(',')[0]))).ToArray();
        TResNetArchitecture architecture = arch == "tiny" ? TResNetArchitecture.Custom([1, 1, 1, 1], 0.25) : TResNetArchitecture.FromName(arch);
        string onnx = Path.Combine(dir, "model.onnx");
        using var network = new TResNet(architecture, 20);
        network.eval();
        OnnxExporter.Export(network, onnx, new OnnxExportOptions { ImageSize = size, ClassNames = SyntheticShapes.ClassNames(20) });
        return (onnx, images);
    }

    /// <summary>The service as a child process on a free loopback port.</summary>
    private sealed partial class Service : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _output = [];
        private readonly HttpClient _http;

        public Service(string onnx, int maxBatch, double delayMs)
        {
            _process = ExampleApps.Start([ExampleApps.Dll("ScoringService"), "--urls", "http://127.0.0.1:0", $"--Scoring:ModelPath={onnx}",
                $"--Scoring:MaxBatchSize={maxBatch}", $"--Scoring:MaxDelayMilliseconds={delayMs.ToString(CultureInfo.InvariantCulture)}", "--Scoring:ReloadOnChange=false",
                "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information"], _output);
            var clock = Stopwatch.StartNew();
            string? address = null;
            while (address is null)
            {
                lock (_output)
                {
                    address = _output.Select(l => Listening().Match(l)).FirstOrDefault(m => m.Success)?.Groups[1].Value;
                }
                if (address is null)
                {
                    if (_process.HasExited || clock.Elapsed > TimeSpan.FromMinutes(2))
                    {
                        throw new InvalidOperationException("The service did not start:\n" + string.Join('\n', _output));
                    }
                    Thread.Sleep(50);
                }
            }
            _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(5) };
        }

        public void Warm(byte[][] images) => Load(images, 4, 40);

        /// <summary>Requests/s, p50, p99 (ms), failures, and results differing from <paramref name="expected"/>.</summary>
        public (double Rate, double P50, double P99, int Failed, int Wrong) Load(byte[][] images, int clients, int requests, float[][]? expected = null)
        {
            var latencies = new double[requests];
            int next = -1, failed = 0, wrong = 0;
            var clock = Stopwatch.StartNew();
            Task[] workers = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < requests)
                {
                    int image = i % images.Length;
                    var content = new ByteArrayContent(images[image]);
                    content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
                    long start = Stopwatch.GetTimestamp();
                    using HttpResponseMessage response = await _http.PostAsync("/predict", content);
                    string body = await response.Content.ReadAsStringAsync();
                    latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref failed);
                        continue;
                    }
                    if (expected is not null)
                    {
                        using JsonDocument json = JsonDocument.Parse(body);
                        float[] scores = json.RootElement.GetProperty("scores").EnumerateObject().Select(p => p.Value.GetSingle()).ToArray();
                        if (!scores.SequenceEqual(expected[image]))
                        {
                            Interlocked.Increment(ref wrong);
                        }
                    }
                }
            })).ToArray();
            Task.WaitAll(workers);
            double seconds = clock.Elapsed.TotalSeconds;
            Array.Sort(latencies);
            return (requests / seconds, latencies[requests / 2], latencies[Math.Min(requests - 1, (int)Math.Ceiling(0.99 * requests) - 1)], failed, wrong);
        }

        private long _calls;
        private double _images;

        /// <summary>The mean images per ONNX Runtime call since the last call of this (warm-up included in the first), from the service's /metrics.</summary>
        public double MeanBatch()
        {
            string metrics = _http.GetStringAsync("/metrics").GetAwaiter().GetResult();
            var batches = Batches().Matches(metrics).Select(m => (Size: int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Count: long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))).ToList();
            long calls = batches.Sum(b => b.Count);
            double images = batches.Sum(b => (double)b.Size * b.Count);
            double mean = calls == _calls ? double.NaN : (images - _images) / (calls - _calls);
            (_calls, _images) = (calls, images);
            return mean;
        }

        public double ResidentMiB()
        {
            string status = File.ReadAllText($"/proc/{_process.Id}/status");
            string line = status.Split('\n').First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return long.Parse(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        }

        public void Dispose()
        {
            _http.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill();
            }
            _process.WaitForExit();
            _process.Dispose();
        }

        [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
        private static partial Regex Listening();

        [GeneratedRegex(@"miil_scoring_batches_total\{size=""(\d+)""\} (\d+)")]
        private static partial Regex Batches();
    }
}
