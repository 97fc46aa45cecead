using System.Buffers;
using Microsoft.ML.Data;
using Miil.ML.Images;

namespace Miil.ML.TorchSharp.Training;

/// <summary>One batch of decoded (and possibly augmented) images with their labels.</summary>
internal sealed class Batch
{
    public Batch(int capacity, int pixelsPerImage, int classCount)
    {
        ClassCount = classCount;
        Pixels = new float[capacity * pixelsPerImage];
        Labels = new float[capacity * classCount];
    }

    /// <summary>Count x 3 x S x S, row-major; only the first <see cref="Count"/> images are valid.</summary>
    public float[] Pixels { get; }

    public float[] Labels { get; }

    public int ClassCount { get; }

    public int Count { get; set; }

    public int Skipped { get; set; }
}

/// <summary>
/// Turns rows into batches: one image per row through the scorer's preprocessing (ImageAnalytics'
/// squash resize and pixel extraction, in parallel slices), then augmentation per image in
/// parallel on RGB pixels in [0, 1] (whatever order and range the network reads), then the network's
/// mean and standard deviation. The next batch is prepared on a worker while the caller trains on the current one;
/// two batch buffers rotate, so memory is bounded by two batches whatever the data size.
/// </summary>
internal sealed class BatchLoader
{
    private readonly TrainingData _data;
    private readonly ImagePreprocessor _preprocessor;
    private readonly int _batchSize;
    private readonly int _workers;
    private readonly bool _skipUnreadable;
    private readonly Batch[] _buffers;
    private readonly Action<string>? _onSkip;

    public BatchLoader(TrainingData data, ImagePreprocessor preprocessor, int batchSize, int workers, bool skipUnreadable, Action<string>? onSkip = null)
    {
        _data = data;
        _preprocessor = preprocessor;
        _batchSize = Math.Min(batchSize, data.Count);
        _workers = workers;
        _skipUnreadable = skipUnreadable;
        _onSkip = onSkip;
        _buffers = [new Batch(_batchSize, preprocessor.Length, data.ClassCount), new Batch(_batchSize, preprocessor.Length, data.ClassCount)];
    }

    /// <summary>Rows of the data.</summary>
    public int RowCount => _data.Count;

    public int BatchCount => (_data.Count + _batchSize - 1) / _batchSize;

    /// <summary>
    /// Batches <paramref name="firstBatch"/>.. of the rows in <paramref name="order"/>, augmented with
    /// <paramref name="augmentation"/> (null: none). A yielded batch stays valid until the next one is asked for.
    /// </summary>
    public IEnumerable<Batch> Batches(int[] order, int firstBatch, AugmentationOptions? augmentation, int seed, int epoch)
    {
        int count = BatchCount;
        if (firstBatch >= count)
        {
            yield break;
        }
        Task<Batch> next = Prepare(order, firstBatch, _buffers[firstBatch % 2], augmentation, seed, epoch);
        try
        {
            for (int b = firstBatch; b < count; b++)
            {
                Batch current = next.GetAwaiter().GetResult();
                if (b + 1 < count)
                {
                    next = Prepare(order, b + 1, _buffers[(b + 1) % 2], augmentation, seed, epoch);
                }
                yield return current;
            }
        }
        finally
        {
            // Never leave a worker writing into a buffer after the caller stopped (an exception, or a break).
            try
            {
                next.Wait();
            }
            catch (AggregateException)
            {
            }
        }
    }

    private Task<Batch> Prepare(int[] order, int index, Batch batch, AugmentationOptions? augmentation, int seed, int epoch)
        => Task.Run(() => Fill(order, index, batch, augmentation, seed, epoch));

    private Batch Fill(int[] order, int index, Batch batch, AugmentationOptions? augmentation, int seed, int epoch)
    {
        int first = index * _batchSize;
        int count = Math.Min(_batchSize, order.Length - first);
        int[] rows = order.AsSpan(first, count).ToArray();
        int length = _preprocessor.Length;
        bool[] ok = Decode(rows, batch.Pixels);

        // Compact away skipped rows, then copy labels.
        int kept = 0;
        var positions = new long[count];
        int classes = _data.ClassCount;
        for (int i = 0; i < count; i++)
        {
            if (!ok[i])
            {
                continue;
            }
            if (kept != i)
            {
                batch.Pixels.AsSpan(i * length, length).CopyTo(batch.Pixels.AsSpan(kept * length, length));
            }
            _data.Labels.AsSpan(rows[i] * classes, classes).CopyTo(batch.Labels.AsSpan(kept * classes, classes));
            positions[kept] = first + i;
            kept++;
        }
        batch.Count = kept;
        batch.Skipped = count - kept;

        bool augment = augmentation is not null && !augmentation.IsNone;
        if (augment || _preprocessor.Preprocessing.Normalizes)
        {
            int size = _preprocessor.ImageSize;
            Parallel.For(0, kept, new ParallelOptions { MaxDegreeOfParallelism = _workers }, i =>
            {
                Span<float> image = batch.Pixels.AsSpan(i * length, length);
                if (augment)
                {
                    float[] scratch = ArrayPool<float>.Shared.Rent(size * size);
                    try
                    {
                        // Seeded by the position in the epoch's order: the draw depends on where the image is, not on which thread took it.
                        Random random = Augmentation.RandomFor(seed, epoch, positions[i]);
                        Augmentation.ToUnitRgb(image, size, _preprocessor.Preprocessing);
                        Augmentation.Apply(image, size, augmentation!, random, scratch);
                        Augmentation.FromUnitRgb(image, size, _preprocessor.Preprocessing);
                    }
                    finally
                    {
                        ArrayPool<float>.Shared.Return(scratch);
                    }
                }
                _preprocessor.Normalize(image);
            });
        }
        return batch;
    }

    /// <summary>Decodes the rows into <paramref name="into"/> (scaled, before mean and std); returns which succeeded (all, or the first failure is thrown naming its row, unless skipping).</summary>
    private bool[] Decode(int[] rows, float[] into)
    {
        InvalidOperationException?[] errors = _data.Paths is { } paths
            ? _preprocessor.FillEach(rows.Select(r => paths[r]).ToArray(), into, normalize: false)
            : _preprocessor.FillEach(rows.Select(r => _data.Images![r]).ToArray(), into, normalize: false);
        var ok = new bool[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            if (errors[i] is not { } e)
            {
                ok[i] = true;
            }
            else if (!_skipUnreadable)
            {
                throw new InvalidOperationException($"{_data.Describe(rows[i])} cannot be used: {e.Message}", e);
            }
            else
            {
                _onSkip?.Invoke($"Skipped {_data.Describe(rows[i])}: {e.Message}");
            }
        }
        return ok;
    }
}
