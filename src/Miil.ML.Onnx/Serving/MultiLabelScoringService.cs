using Microsoft.ML;

namespace Miil.ML.Onnx.Serving;

/// <summary>
/// The scoring of an application: a <see cref="MicroBatchScorer"/> over the model file of
/// <see cref="MultiLabelScoringOptions"/>, reloaded when the file changes if asked (requests in flight
/// finish on the old model; new ones go to the new; a file that does not load is logged and the old
/// model kept). Thread-safe, one per model: register it as a singleton
/// (<c>services.AddMultiLabelScoring(...)</c>); disposing it finishes the requests in flight.
/// </summary>
public sealed class MultiLabelScoringService : IDisposable, IAsyncDisposable
{
    private readonly MLContext _context;
    private readonly FileSystemWatcher? _watcher;
    private readonly Timer? _debounce;
    private readonly object _reloadGate = new();
    private MicroBatchScorer _current;
    private long _reloads;
    private int _disposed;

    /// <param name="options">The model file, batch size, delay, queue, device, reload.</param>
    /// <param name="mlContext">Logging and GPU settings; null for a new context.</param>
    /// <exception cref="FileNotFoundException">The model file does not exist.</exception>
    /// <exception cref="InvalidOperationException">The file is not a Miil.ML model.</exception>
    public MultiLabelScoringService(MultiLabelScoringOptions options, MLContext? mlContext = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _context = mlContext ?? new MLContext();
        _current = MicroBatchScorer.Open(_context, options, Statistics);
        if (options.ReloadOnChange)
        {
            string full = Path.GetFullPath(options.ModelPath);
            _debounce = new Timer(_ => Reload(), null, Timeout.Infinite, Timeout.Infinite);
            _watcher = new FileSystemWatcher(Path.GetDirectoryName(full)!, Path.GetFileName(full))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            FileSystemEventHandler changed = (_, _) => _debounce.Change(ReloadDebounce, Timeout.InfiniteTimeSpan);
            _watcher.Changed += changed;
            _watcher.Created += changed;
            _watcher.Renamed += (_, e) =>
            {
                if (string.Equals(e.FullPath, full, StringComparison.Ordinal))
                {
                    _debounce.Change(ReloadDebounce, Timeout.InfiniteTimeSpan);
                }
            };
            _watcher.EnableRaisingEvents = true;
        }
    }

    /// <summary>How long the file must stay quiet before it is reloaded (a writer may need several writes).</summary>
    public static TimeSpan ReloadDebounce { get; } = TimeSpan.FromMilliseconds(300);

    /// <summary>The options.</summary>
    public MultiLabelScoringOptions Options { get; }

    /// <summary>Requests, failures, batch sizes and latency, across reloads.</summary>
    public ScoringStatistics Statistics { get; } = new();

    /// <summary>The current model's classes, thresholds and preprocessing.</summary>
    public MultiLabelOnnxModel Model => Volatile.Read(ref _current).Model;

    /// <summary>Where the current model runs.</summary>
    public OnnxDevice Device => Volatile.Read(ref _current).Device;

    /// <summary>How many times the model was reloaded.</summary>
    public long Reloads => Interlocked.Read(ref _reloads);

    /// <summary>Raised after a reload: with null when the new model is in service, or the error that kept the old one.</summary>
    public event EventHandler<Exception?>? Reloaded;

    /// <summary>Scores one encoded image with the current model (see <see cref="MicroBatchScorer.ScoreAsync"/>).</summary>
    /// <param name="image">The image file's bytes.</param>
    /// <param name="name">How to name the image in an error.</param>
    /// <param name="cancellationToken">Gives up waiting.</param>
    public async Task<MultiLabelPrediction> ScoreAsync(ReadOnlyMemory<byte> image, string name = "the image", CancellationToken cancellationToken = default)
    {
        for (int attempt = 0; ; attempt++)
        {
            MicroBatchScorer scorer = Volatile.Read(ref _current);
            try
            {
                return await scorer.ScoreAsync(image, name, cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException) when (attempt < 3 && Volatile.Read(ref _disposed) == 0 && !ReferenceEquals(scorer, Volatile.Read(ref _current)))
            {
                // Replaced by a reload between the read and the call: the new model takes it.
            }
        }
    }

    /// <summary>Scores one preprocessed input tensor (3 x size x size floats) with the current model; see <see cref="MicroBatchScorer.ScorePixelsAsync"/>.</summary>
    internal async Task<MultiLabelPrediction> ScorePixelsAsync(ReadOnlyMemory<float> pixels, CancellationToken cancellationToken = default)
    {
        for (int attempt = 0; ; attempt++)
        {
            MicroBatchScorer scorer = Volatile.Read(ref _current);
            try
            {
                return await scorer.ScorePixelsAsync(pixels, cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException) when (attempt < 3 && Volatile.Read(ref _disposed) == 0 && !ReferenceEquals(scorer, Volatile.Read(ref _current)))
            {
                // Replaced by a reload between the read and the call: the new model takes it.
            }
        }
    }

    /// <summary>Loads the model file again now; the old model serves until the new one is ready, and keeps serving if it fails to load.</summary>
    /// <returns>Whether the new model is in service.</returns>
    public bool Reload()
    {
        lock (_reloadGate)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                return false;
            }
            MicroBatchScorer fresh;
            try
            {
                fresh = MicroBatchScorer.Open(_context, Options, Statistics);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
            {
                ContextLog.Warning(_context, nameof(MultiLabelScoringService), $"Model '{Options.ModelPath}' changed but does not load ({e.Message}); the previous model keeps serving.");
                Reloaded?.Invoke(this, e);
                return false;
            }
            MicroBatchScorer old = Interlocked.Exchange(ref _current, fresh);
            Interlocked.Increment(ref _reloads);
            ContextLog.Info(_context, nameof(MultiLabelScoringService), $"Model '{Options.ModelPath}' reloaded ({fresh.Model.ClassNames.Count} classes).");
            _ = old.DisposeAsync().AsTask();  // finishes its requests in flight, then releases its session
            Reloaded?.Invoke(this, null);
            return true;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _watcher?.Dispose();
        if (_debounce is not null)
        {
            await _debounce.DisposeAsync().ConfigureAwait(false);
        }
        lock (_reloadGate)
        {
        }
        await Volatile.Read(ref _current).DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
