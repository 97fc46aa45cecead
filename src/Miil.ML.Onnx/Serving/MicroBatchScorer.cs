using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.ML;
using Miil.ML.Onnx.Scoring;

namespace Miil.ML.Onnx.Serving;

/// <summary>
/// Scores single images from many threads at once, micro-batching them: each caller decodes its own
/// image (so a bad one fails its own request only), then concurrent requests are gathered up to
/// <see cref="MultiLabelScoringOptions.MaxBatchSize"/> or <see cref="MultiLabelScoringOptions.MaxDelay"/>
/// and scored by one ONNX Runtime call, each caller receiving its own row. A batch waits only while other
/// requests are still decoding: a lone request is scored at once. A row's scores do not depend
/// on the batch it rode in (tested bit for bit against scoring it alone). Thread-safe; dispose it to
/// finish the requests in flight and release the session.
/// </summary>
internal sealed class MicroBatchScorer : IDisposable, IAsyncDisposable
{
    private readonly OnnxImageScorer _scorer;
    private readonly MultiLabelScoringOptions _options;
    private readonly Channel<Pending>? _queue;
    private readonly Task? _loop;
    private readonly SemaphoreSlim _slots;
    private int _closed;

    /// <summary>Requests decoding their image right now: they will join the queue in a moment.</summary>
    private int _arriving;

    private sealed class Pending(float[] pixels, long started)
    {
        public float[] Pixels { get; } = pixels;

        public long Started { get; } = started;

        public TaskCompletionSource<MultiLabelPrediction> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Cancellation { get; set; }
    }

    /// <summary>Opens an ONNX model (bytes of the Miil.ML contract) for micro-batched scoring.</summary>
    /// <param name="mlContext">Logging and GPU settings of the session.</param>
    /// <param name="model">The ONNX model's bytes.</param>
    /// <param name="options">Batch size, delay, queue, device.</param>
    /// <param name="statistics">Where requests are counted (shared across reloads); null for a fresh one.</param>
    /// <param name="source">How to name the model in messages.</param>
    public MicroBatchScorer(MLContext mlContext, byte[] model, MultiLabelScoringOptions options, ScoringStatistics? statistics = null, string source = "the model")
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Statistics = statistics ?? new ScoringStatistics();
        // Calls in flight at once share the cores (unless told otherwise).
        // Calls in flight at once share the cores (measured: each taking all of them oversubscribes and loses half the gain).
        int? threads = options.IntraOpThreads ?? (options.MaxBatchSize > 1 ? Math.Max(1, Environment.ProcessorCount / options.MaxConcurrentBatches) : null);
        _scorer = new OnnxImageScorer(mlContext, model, imageFolder: null, options.GpuDeviceId, options.FallbackToCpu, source, threads);
        _slots = new SemaphoreSlim(options.MaxConcurrentBatches, options.MaxConcurrentBatches);
        if (options.MaxBatchSize > 1)
        {
            _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(options.MaxQueueLength)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,  // TryWrite fails when full: the request is refused, not queued
            });
            _loop = Task.Run(Batches);
        }
    }

    /// <summary>Opens the model file that <paramref name="options"/> names: an .onnx file, or a model .zip of a Miil.ML scorer or trained model.</summary>
    /// <param name="mlContext">Logging and GPU settings of the session.</param>
    /// <param name="options">The model path, batch size, delay, queue, device.</param>
    /// <param name="statistics">Where requests are counted; null for a fresh one.</param>
    /// <exception cref="FileNotFoundException">The model file does not exist.</exception>
    /// <exception cref="InvalidOperationException">The file is not a Miil.ML model (the message says what it is).</exception>
    public static MicroBatchScorer Open(MLContext mlContext, MultiLabelScoringOptions options, ScoringStatistics? statistics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        string path = options.ModelPath;
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model '{path}' does not exist.", path);
        }
        byte[] onnx = ModelZipLoader.OnnxOf(path);
        return new MicroBatchScorer(mlContext, onnx, options, statistics, $"'{path}'");
    }

    /// <summary>Class names, thresholds and preprocessing of the model.</summary>
    public MultiLabelOnnxModel Model => _scorer.Model;

    /// <summary>Where the model runs.</summary>
    public OnnxDevice Device => _scorer.Device;

    /// <summary>What this scorer has done.</summary>
    public ScoringStatistics Statistics { get; }

    /// <summary>Scores one encoded image (PNG, JPEG, ... as uploaded).</summary>
    /// <param name="image">The image file's bytes.</param>
    /// <param name="name">How to name the image in an error.</param>
    /// <param name="cancellationToken">Gives up waiting (the image is then left out of its batch).</param>
    /// <exception cref="InvalidOperationException">The image cannot be read (empty, not an image, too large, damaged, truncated); the message names it.</exception>
    /// <exception cref="ScoringQueueFullException">Too many requests are waiting.</exception>
    /// <exception cref="ObjectDisposedException">The scorer is closing.</exception>
    public async Task<MultiLabelPrediction> ScoreAsync(ReadOnlyMemory<byte> image, string name = "the image", CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        long started = Stopwatch.GetTimestamp();
        int length = _scorer.Preprocessor.Length;
        float[] pixels = ArrayPool<float>.Shared.Rent(length);
        Interlocked.Increment(ref _arriving);
        try
        {
            _scorer.Preprocessor.Fill(image.Span, pixels.AsSpan(0, length), name);
        }
        catch (InvalidOperationException)
        {
            Interlocked.Decrement(ref _arriving);
            ArrayPool<float>.Shared.Return(pixels);
            Statistics.Completed(Stopwatch.GetElapsedTime(started).TotalMilliseconds, failed: true);
            throw;
        }
        return await Submit(pixels, length, started, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Scores one image already preprocessed as the model's input wants it (3 x size x size floats, the preprocessing
    /// record applied): the Open Inference Protocol's tensor input. Batched with the encoded images.
    /// </summary>
    /// <param name="pixels">The image's input tensor, channel-major.</param>
    /// <param name="cancellationToken">Gives up waiting.</param>
    /// <exception cref="ArgumentException">Not 3 x size x size values.</exception>
    internal async Task<MultiLabelPrediction> ScorePixelsAsync(ReadOnlyMemory<float> pixels, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        int length = _scorer.Preprocessor.Length;
        if (pixels.Length != length)
        {
            throw new ArgumentException($"An input tensor of this model holds 3 x {Model.ImageSize} x {Model.ImageSize} = {length} values; got {pixels.Length}.", nameof(pixels));
        }
        long started = Stopwatch.GetTimestamp();
        float[] rented = ArrayPool<float>.Shared.Rent(length);
        pixels.Span.CopyTo(rented);
        Interlocked.Increment(ref _arriving);
        return await Submit(rented, length, started, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Scores filled pixels (rented; returned here): alone when micro-batching is off, else through the queue. Called with <c>_arriving</c> counted.</summary>
    private async Task<MultiLabelPrediction> Submit(float[] pixels, int length, long started, CancellationToken cancellationToken)
    {
        if (_queue is null)
        {
            Interlocked.Decrement(ref _arriving);
            // Micro-batching off: one ONNX Runtime call per request, concurrently.
            try
            {
                using PreparedBatch batch = _scorer.NewBatch(1);
                pixels.AsSpan(0, length).CopyTo(batch.Input);
                (float[] scores, bool[] decisions) = _scorer.Run(batch);
                Statistics.Batch(1);
                Statistics.Completed(Stopwatch.GetElapsedTime(started).TotalMilliseconds, failed: false);
                return Prediction(scores, decisions, 0);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(pixels);
            }
        }
        var pending = new Pending(pixels, started);
        bool queued = _queue.Writer.TryWrite(pending);
        Interlocked.Decrement(ref _arriving);
        if (!queued)
        {
            ArrayPool<float>.Shared.Return(pixels);
            Statistics.Completed(Stopwatch.GetElapsedTime(started).TotalMilliseconds, failed: true);
            if (Volatile.Read(ref _closed) != 0)
            {
                throw new ObjectDisposedException(nameof(MicroBatchScorer));
            }
            throw new ScoringQueueFullException(_options.MaxQueueLength);
        }
        if (cancellationToken.CanBeCanceled)
        {
            pending.Cancellation = cancellationToken.Register(() => pending.Result.TrySetCanceled(cancellationToken));
        }
        return await pending.Result.Task.ConfigureAwait(false);
    }

    /// <summary>Scores an image file (read whole, then as <see cref="ScoreAsync(ReadOnlyMemory{byte}, string, CancellationToken)"/>).</summary>
    /// <param name="path">The image file.</param>
    /// <param name="cancellationToken">Gives up waiting.</param>
    public async Task<MultiLabelPrediction> ScoreFileAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"Image '{path}' does not exist.");
        }
        byte[] bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        return await ScoreAsync(bytes, path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Tests hold the batching loop here (after a request arrived, before anything is read) to queue
    /// requests in a known order, whatever the machine's speed; null otherwise.
    /// </summary>
    internal Task? Gate { get; set; }

    /// <summary>Requests queued and not yet read by the batching loop.</summary>
    internal int Queued => _queue?.Reader.Count ?? 0;

    /// <summary>The batching loop: gather up to the batch size or the delay, one call, each caller its row.</summary>
    private async Task Batches()
    {
        ChannelReader<Pending> reader = _queue!.Reader;
        int length = _scorer.Preprocessor.Length;
        var batch = new List<Pending>(_options.MaxBatchSize);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (Gate is { } gate)
            {
                await gate.ConfigureAwait(false);
            }
            batch.Clear();
            long deadline = 0;
            while (batch.Count < _options.MaxBatchSize)
            {
                if (reader.TryRead(out Pending? next))
                {
                    if (next.Result.Task.IsCompleted)
                    {
                        Finish(next, failed: true);  // cancelled while it waited
                        continue;
                    }
                    if (batch.Count == 0)
                    {
                        deadline = Stopwatch.GetTimestamp() + (long)(_options.MaxDelay.TotalSeconds * Stopwatch.Frequency);
                    }
                    batch.Add(next);
                    continue;
                }
                if (batch.Count == 0)
                {
                    break;  // only cancelled requests were waiting
                }
                if (Volatile.Read(ref _arriving) == 0)
                {
                    break;  // nobody else is on the way: waiting would only delay this batch
                }
                TimeSpan left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                if (left <= TimeSpan.Zero)
                {
                    break;
                }
                using var wait = new CancellationTokenSource(left);
                try
                {
                    if (!await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false))
                    {
                        break;  // closing: score what is gathered
                    }
                }
                catch (OperationCanceledException)
                {
                    break;  // the delay is up
                }
            }
            if (batch.Count == 0)
            {
                continue;
            }
            // Up to MaxConcurrentBatches calls at once: the next batch gathers while this one runs.
            await _slots.WaitAsync().ConfigureAwait(false);
            Pending[] work = [.. batch];
            _ = Task.Run(() =>
            {
                try
                {
                    Score(work, length);
                }
                finally
                {
                    _slots.Release();
                }
            });
        }
        // Closing: wait for the calls in flight.
        for (int i = 0; i < _options.MaxConcurrentBatches; i++)
        {
            await _slots.WaitAsync().ConfigureAwait(false);
        }
    }

    /// <summary>One ONNX Runtime call over gathered requests; each gets its row (or the call's error).</summary>
    private void Score(Pending[] batch, int length)
    {
        try
        {
            using PreparedBatch input = _scorer.NewBatch(batch.Length);
            for (int i = 0; i < batch.Length; i++)
            {
                batch[i].Pixels.AsSpan(0, length).CopyTo(input.Input.AsSpan(i * length, length));
            }
            (float[] scores, bool[] decisions) = _scorer.Run(input);
            Statistics.Batch(batch.Length);
            for (int i = 0; i < batch.Length; i++)
            {
                bool delivered = batch[i].Result.TrySetResult(Prediction(scores, decisions, i));
                Finish(batch[i], failed: !delivered);
            }
        }
        catch (Exception e)
        {
            foreach (Pending p in batch)
            {
                p.Result.TrySetException(e);
                Finish(p, failed: true);
            }
        }
    }

    private void Finish(Pending pending, bool failed)
    {
        pending.Cancellation.Dispose();
        ArrayPool<float>.Shared.Return(pending.Pixels);
        Statistics.Completed(Stopwatch.GetElapsedTime(pending.Started).TotalMilliseconds, failed);
    }

    private MultiLabelPrediction Prediction(float[] scores, bool[] decisions, int row)
    {
        int classes = Model.ClassNames.Count;
        return new MultiLabelPrediction
        {
            ClassNames = Model.ClassNames,
            Scores = scores.AsSpan(row * classes, classes).ToArray(),
            PredictedLabels = decisions.AsSpan(row * classes, classes).ToArray(),
        };
    }

    /// <summary>Stops taking requests, finishes those waiting, then releases the session.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        _queue?.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        _scorer.Dispose();
        _slots.Dispose();
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
