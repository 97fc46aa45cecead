namespace Miil.ML.Onnx.Serving;

/// <summary>
/// What a scorer has done, for monitoring: requests, failures (unreadable images), ONNX Runtime calls by
/// batch size, and latency percentiles over the recent requests (a ring of the last 4,096). Thread-safe.
/// </summary>
public sealed class ScoringStatistics
{
    private const int Window = 4096;
    private readonly object _gate = new();
    private readonly double[] _latencies = new double[Window];
    private readonly long[] _batches = new long[65];
    private long _requests;
    private long _failures;
    private long _recorded;

    /// <summary>Requests completed (scored or failed).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Requests that failed (an unreadable image, a cancelled wait).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    internal void Batch(int size)
    {
        lock (_gate)
        {
            _batches[Math.Min(size, _batches.Length - 1)]++;
        }
    }

    internal void Completed(double milliseconds, bool failed)
    {
        Interlocked.Increment(ref _requests);
        if (failed)
        {
            Interlocked.Increment(ref _failures);
        }
        lock (_gate)
        {
            _latencies[_recorded++ % Window] = milliseconds;
        }
    }

    /// <summary>ONNX Runtime calls by batch size (sizes of 64 and more counted under 64).</summary>
    public IReadOnlyDictionary<int, long> BatchSizes
    {
        get
        {
            lock (_gate)
            {
                return Enumerable.Range(1, _batches.Length - 1).Where(k => _batches[k] > 0).ToDictionary(k => k, k => _batches[k]);
            }
        }
    }

    /// <summary>The latency (milliseconds, from the call to its result) that <paramref name="quantile"/> of the recent requests stayed under; NaN before any.</summary>
    /// <param name="quantile">In [0, 1], e.g. 0.99.</param>
    public double LatencyQuantile(double quantile)
    {
        double[] recent;
        lock (_gate)
        {
            recent = _latencies[..(int)Math.Min(_recorded, Window)];
        }
        if (recent.Length == 0)
        {
            return double.NaN;
        }
        Array.Sort(recent);
        return recent[(int)Math.Clamp(Math.Ceiling(quantile * recent.Length) - 1, 0, recent.Length - 1)];
    }
}
