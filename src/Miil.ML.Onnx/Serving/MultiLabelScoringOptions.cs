namespace Miil.ML.Onnx.Serving;

/// <summary>Options of <see cref="MicroBatchScorer"/> and <see cref="MultiLabelScoringService"/>.</summary>
public sealed record MultiLabelScoringOptions
{
    /// <summary>The model: an exported .onnx file, or a model .zip that <c>mlContext.Model.Save</c> wrote for a Miil.ML scorer or trained model.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>
    /// Most images one ONNX Runtime call scores: concurrent requests are gathered up to this many. Default
    /// 16. 1 turns micro-batching off (each request runs its own call, concurrently).
    /// </summary>
    public int MaxBatchSize { get; set; } = 16;

    /// <summary>
    /// Longest a request waits for others to join its batch, counted from the first of the batch. Default
    /// 2 ms: on a CPU a call of the tiny model takes about that, so waiting longer costs more than it saves;
    /// on a GPU, where a call's launch costs more, 5-10 ms pays.
    /// </summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// ONNX Runtime calls in flight at once: the next batch gathers while one runs, and the cores are shared
    /// among them (unless <see cref="IntraOpThreads"/> says otherwise). Default 2. For a large model with
    /// one client at a time on a CPU, 1 gives that client every core.
    /// </summary>
    public int MaxConcurrentBatches { get; set; } = 2;

    /// <summary>Requests waiting at most; one more is refused at once (<see cref="ScoringQueueFullException"/>: HTTP 503) rather than queued without bound. Default 1024.</summary>
    public int MaxQueueLength { get; set; } = 1024;

    /// <summary>CUDA device; null (default) for the CPU.</summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>Whether a GPU that cannot be used falls back to the CPU (with a warning). Default true.</summary>
    public bool FallbackToCpu { get; set; } = true;

    /// <summary>Threads of one ONNX Runtime call; null for the cores divided among <see cref="MaxConcurrentBatches"/> (all of them without micro-batching).</summary>
    public int? IntraOpThreads { get; set; }

    /// <summary>
    /// Reload the model when its file changes (written again or replaced by a rename), as ML.NET's
    /// PredictionEnginePool does: requests in flight finish on the old model, new ones go to the new; a
    /// file that does not load is logged and the old model kept. Default false.
    /// </summary>
    public bool ReloadOnChange { get; set; }

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentException">An option out of range.</exception>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(ModelPath, nameof(ModelPath));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchSize, 1, nameof(MaxBatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueueLength, 1, nameof(MaxQueueLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentBatches, 1, nameof(MaxConcurrentBatches));
        if (MaxDelay < TimeSpan.Zero || MaxDelay > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDelay), MaxDelay, "MaxDelay must lie in [0, 10 s].");
        }
    }
}
