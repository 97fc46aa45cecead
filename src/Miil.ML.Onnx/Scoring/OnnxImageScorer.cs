using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Miil.ML.Images;

namespace Miil.ML.Onnx.Scoring;

/// <summary>
/// Scores images in batches with a multi-label ONNX model of <see cref="OnnxModelContract"/>: one
/// preprocessing pass per batch as the model's record says (in parallel slices), one ONNX Runtime call
/// per batch on an OrtValue over a pooled buffer.
/// Thread-safe for concurrent <c>Score</c> calls (ONNX Runtime sessions are). Dispose releases the
/// session as soon as the calls in flight end; a call after that opens it again (ML.NET's
/// PredictionEngine disposes the transformer it was made from, so a shared transformer must survive it).
/// </summary>
internal sealed class OnnxImageScorer : IDisposable
{
    private readonly SharedSession _session;
    private readonly ImagePreprocessor _preprocessor;
    private readonly System.Buffers.ArrayPool<float> _buffers = System.Buffers.ArrayPool<float>.Create(1 << 28, 4);
    private readonly MLContext _context;

    private long _skipped;

    private static readonly string[] InputNames = [OnnxModelContract.InputName];
    private static readonly string[] OutputNames = [OnnxModelContract.ScoreName, OnnxModelContract.PredictedLabelsName];

    /// <summary>Opens the model on the device <paramref name="mlContext"/> asks for (GPU with CPU fallback by its settings).</summary>
    /// <param name="mlContext">Context: GPU settings and logging.</param>
    /// <param name="model">The exported ONNX model.</param>
    /// <param name="imageFolder">Folder relative image paths are resolved against; null for paths as given.</param>
    /// <param name="gpuDeviceId">CUDA device; null for CPU.</param>
    /// <param name="fallbackToCpu">Whether a GPU that cannot be used falls back to CPU (with a warning) instead of failing.</param>
    /// <param name="source">How to name the model in messages.</param>
    /// <param name="intraOpThreads">Threads of one call, for decoding and inside ONNX Runtime; null for all the cores. A caller that runs several calls at once gives each its share.</param>
    public OnnxImageScorer(MLContext mlContext, byte[] model, string? imageFolder = null, int? gpuDeviceId = null, bool fallbackToCpu = true, string source = "the model",
        int? intraOpThreads = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        _context = mlContext;
        ModelBytes = model;
        _session = new SharedSession(() => OnnxSessionFactory.Create(model, gpuDeviceId, fallbackToCpu,
            warning => ContextLog.Warning(mlContext, nameof(OnnxImageScorer), warning), intraOpThreads));
        try
        {
            using (SharedSession.Lease lease = _session.Acquire())
            {
                Model = MultiLabelOnnxModel.Read(lease.Session.Session, source);
            }
            // A caller that runs several calls at once shares the cores among them: for decoding as for ONNX Runtime.
            _preprocessor = new ImagePreprocessor(mlContext, Model.Preprocessing, imageFolder, workers: intraOpThreads);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    /// <summary>The model's classes, thresholds and preprocessing.</summary>
    public MultiLabelOnnxModel Model { get; }

    /// <summary>The ONNX model it scores with.</summary>
    internal byte[] ModelBytes { get; }

    /// <summary>
    /// Score unreadable images (missing, empty, damaged, too large) as missing values (NaN scores, no
    /// predicted label), each logged and counted in <see cref="SkippedImages"/>, instead of failing.
    /// Default false: the first unreadable image stops scoring, named.
    /// </summary>
    public bool SkipUnreadableImages { get; init; }

    /// <summary>Images scored as missing so far (with <see cref="SkipUnreadableImages"/>).</summary>
    public long SkippedImages => Interlocked.Read(ref _skipped);

    /// <summary>Where the session runs.</summary>
    public OnnxDevice Device => _session.Device;

    /// <summary>Scores the images at <paramref name="paths"/>: row-major N x C probabilities and decisions.</summary>
    /// <exception cref="InvalidOperationException">An image cannot be read (the message names it).</exception>
    public (float[] Scores, bool[] PredictedLabels) Score(IReadOnlyList<string> paths)
    {
        using PreparedBatch batch = Prepare(paths);
        return Run(batch);
    }

    /// <summary>Scores decoded images: row-major N x C probabilities and decisions.</summary>
    public (float[] Scores, bool[] PredictedLabels) Score(IReadOnlyList<Microsoft.ML.Data.MLImage> images)
    {
        using PreparedBatch batch = Prepare(images);
        return Run(batch);
    }

    /// <summary>The preprocessing the model's record asks for (what callers that decode themselves use).</summary>
    internal ImagePreprocessor Preprocessor => _preprocessor;

    /// <summary>An empty batch of <paramref name="count"/> images in a pooled buffer, for callers that fill it themselves.</summary>
    internal PreparedBatch NewBatch(int count) => new(_buffers, count, count * _preprocessor.Length);

    /// <summary>The model input of a batch of image files (the preprocessing half of <see cref="Score(IReadOnlyList{string})"/>).</summary>
    internal PreparedBatch Prepare(IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return Prepare(paths.Count, input => _preprocessor.FillEach(paths, input), i => $"'{paths[i]}'");
    }

    /// <summary>The model input of a batch of images.</summary>
    internal PreparedBatch Prepare(IReadOnlyList<Microsoft.ML.Data.MLImage> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        return Prepare(images.Count, input => _preprocessor.FillEach(images, input), i => $"image {i} of the batch");
    }

    private PreparedBatch Prepare(int n, Func<float[], InvalidOperationException?[]> fillEach, Func<int, string> name)
    {
        // Input buffers are rented and given back: a batch of 64 at 224 px is 38 MB.
        var batch = new PreparedBatch(_buffers, n, n * _preprocessor.Length);
        try
        {
            if (n > 0)
            {
                InvalidOperationException?[] errors = fillEach(batch.Input);
                InvalidOperationException? first = errors.FirstOrDefault(e => e is not null);
                if (first is not null && !SkipUnreadableImages)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
                }
                if (first is not null)
                {
                    MarkMissing(batch, errors, name);
                }
            }
            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>The unreadable images (zero input) are scored as missing, logged and counted.</summary>
    private void MarkMissing(PreparedBatch batch, InvalidOperationException?[] errors, Func<int, string> name)
    {
        batch.Missing = new bool[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            if (errors[i] is { } e)
            {
                batch.Missing[i] = true;
                Interlocked.Increment(ref _skipped);
                ContextLog.Warning(_context, nameof(OnnxImageScorer), $"Scored {name(i)} as missing: {e.Message}");
            }
        }
    }

    /// <summary>One ONNX Runtime call over a prepared batch.</summary>
    internal (float[] Scores, bool[] PredictedLabels) Run(PreparedBatch batch)
    {
        int n = batch.Count, classes = Model.ClassNames.Count;
        if (n == 0)
        {
            return ([], []);
        }
        using var tensor = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batch.Input.AsMemory(0, n * _preprocessor.Length),
            [n, 3, Model.ImageSize, Model.ImageSize]);
        using SharedSession.Lease lease = _session.Acquire();
        using IDisposableReadOnlyCollection<OrtValue> outputs = lease.Session.Session.Run(lease.RunOptions, InputNames, [tensor], OutputNames);
        float[] scores = outputs[0].GetTensorDataAsSpan<float>()[..(n * classes)].ToArray();
        bool[] decisions = outputs[1].GetTensorDataAsSpan<bool>()[..(n * classes)].ToArray();
        for (int i = 0; i < n && batch.Missing is not null; i++)
        {
            if (batch.Missing[i])
            {
                scores.AsSpan(i * classes, classes).Fill(float.NaN);
                decisions.AsSpan(i * classes, classes).Clear();
            }
        }
        return (scores, decisions);
    }

    /// <summary>Releases the ONNX Runtime session (once the calls in flight end); the scorer stays usable and reopens it when called again.</summary>
    public void Dispose() => _session.Close();
}

/// <summary>A batch's model input in a rented buffer; disposing gives the buffer back.</summary>
internal sealed class PreparedBatch(System.Buffers.ArrayPool<float> pool, int count, int length) : IDisposable
{
    private float[]? _input = pool.Rent(Math.Max(1, length));

    public int Count { get; } = count;

    /// <summary>Rows whose image could not be read (scored as missing), or null when all were read.</summary>
    public bool[]? Missing { get; set; }

    public float[] Input => _input ?? throw new ObjectDisposedException(nameof(PreparedBatch));

    public void Dispose()
    {
        if (_input is not null)
        {
            pool.Return(_input);
            _input = null;
        }
    }
}
