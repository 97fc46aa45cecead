using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Miil.ML.Images;

/// <summary>
/// Turns images (files or <see cref="MLImage"/>s) into a network's input as an
/// <see cref="ImagePreprocessing"/> record describes it, with ML.NET's own ImageAnalytics transforms
/// (load, squash resize, planar pixels scaled): the very code a saved pipeline runs, so batched
/// scoring, the stock chain and training see the same pixels. Batches are cut into one slice per
/// worker, each transformed on its own cursor. Used by the trainer and the scorer alike.
/// </summary>
/// <remarks>Thread-safe: every call works on its own cursors and buffers.</remarks>
public sealed class ImagePreprocessor
{
    private const string PathColumn = "__MiilImagePath";
    private const string ImageColumn = "__MiilImage";
    private const string ResizedColumn = "__MiilResized";
    private const string PixelsColumn = "__MiilPixels";
    private const string InputImageColumn = "__MiilInputImage";

    private readonly ITransformer _fromPaths;
    private readonly ITransformer _fromImages;
    private readonly DataViewSchema _pathSchema = ColumnDataView<string, ReadOnlyMemory<char>>.SchemaFor(PathColumn, TextDataViewType.Instance);
    private readonly DataViewSchema _imageSchema = ColumnDataView<MLImage, MLImage>.SchemaFor(InputImageColumn, new ImageDataViewType());
    private readonly string? _imageFolder;
    private readonly int _workers;
    private readonly float[] _mean;
    private readonly float[] _std;

    /// <param name="mlContext">Context of the image transforms.</param>
    /// <param name="preprocessing">Size, channel order, scale, mean and standard deviation.</param>
    /// <param name="imageFolder">Folder relative paths are resolved against; null for paths as given.</param>
    /// <param name="workers">Slices a batch is cut into (each decoded on its own thread); default the processor count.</param>
    /// <exception cref="ArgumentException">The preprocessing record is not valid.</exception>
    public ImagePreprocessor(MLContext mlContext, ImagePreprocessing preprocessing, string? imageFolder = null, int? workers = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(preprocessing);
        preprocessing.Validate();
        Preprocessing = preprocessing;
        _workers = Math.Max(1, workers ?? Environment.ProcessorCount);
        _imageFolder = string.IsNullOrEmpty(imageFolder) ? null : imageFolder;
        _mean = [.. preprocessing.Mean];
        _std = [.. preprocessing.Std];
        _fromPaths = StockChain(mlContext, preprocessing, imageFolder, PathColumn, PixelsColumn, fromPaths: true)
            .Fit(new ColumnDataView<string, ReadOnlyMemory<char>>(_pathSchema, [], 0, 0, p => p.AsMemory()));
        _fromImages = StockChain(mlContext, preprocessing, imageFolder, InputImageColumn, PixelsColumn, fromPaths: false)
            .Fit(new ColumnDataView<MLImage, MLImage>(_imageSchema, [], 0, 0, i => i));
    }

    /// <summary>What this preprocessor computes.</summary>
    public ImagePreprocessing Preprocessing { get; }

    /// <summary>Side of the square output.</summary>
    public int ImageSize => Preprocessing.ImageSize;

    /// <summary>Floats per image: 3 x size x size.</summary>
    public int Length => Preprocessing.Length;

    /// <summary>
    /// The stock chain from an image-path (or image) column to scaled planar pixels (load, squash
    /// resize, extract in the record's channel order and scale): what a saved model holds. ML.NET's
    /// pixel extraction has one offset for all channels, so a per-channel mean and standard deviation
    /// are not part of it; the scorer's saved chain adds them as an ONNX step.
    /// </summary>
    /// <param name="mlContext">Context of the transforms.</param>
    /// <param name="preprocessing">Size, channel order and scale.</param>
    /// <param name="imageFolder">Folder relative paths are resolved against.</param>
    /// <param name="inputColumn">Image-path (text) or image column read.</param>
    /// <param name="outputColumn">Pixel column written (known-size vector of Single).</param>
    /// <param name="fromPaths">Whether <paramref name="inputColumn"/> holds paths (true) or images.</param>
    public static IEstimator<ITransformer> StockChain(MLContext mlContext, ImagePreprocessing preprocessing, string? imageFolder,
        string inputColumn, string outputColumn, bool fromPaths)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(preprocessing);
        string image = fromPaths ? ImageColumn : inputColumn;
        int size = preprocessing.ImageSize;
        IEstimator<ITransformer> resize = mlContext.Transforms.ResizeImages(ResizedColumn, size, size, image, ImageResizingEstimator.ResizingKind.Fill);
        IEstimator<ITransformer> chain = fromPaths ? mlContext.Transforms.LoadImages(ImageColumn, imageFolder ?? "", inputColumn).Append(resize) : resize;
        ImagePixelExtractingEstimator.ColorsOrder order = preprocessing.ChannelOrder == ColorChannelOrder.Rgb
            ? ImagePixelExtractingEstimator.ColorsOrder.ARGB
            : ImagePixelExtractingEstimator.ColorsOrder.ABGR;
        return chain
            .Append(mlContext.Transforms.ExtractPixels(outputColumn, ResizedColumn, colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Rgb,
                orderOfExtraction: order, interleavePixelColors: false, scaleImage: preprocessing.Scale, outputAsFloatArray: true))
            .Append(mlContext.Transforms.DropColumns(fromPaths ? [ImageColumn, ResizedColumn] : [ResizedColumn]));
    }

    /// <summary>Applies the record's per-channel mean and standard deviation to one image's scaled planar pixels, in place (nothing when it has none).</summary>
    /// <param name="image">3 x size x size floats.</param>
    public void Normalize(Span<float> image)
    {
        if (!Preprocessing.Normalizes)
        {
            return;
        }
        int plane = ImageSize * ImageSize;
        for (int c = 0; c < 3; c++)
        {
            Span<float> values = image.Slice(c * plane, plane);
            float mean = _mean[c], std = _std[c];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (values[i] - mean) / std;
            }
        }
    }

    /// <summary>Writes the input of each image into <paramref name="into"/> (row-major, <see cref="Length"/> floats each).</summary>
    /// <param name="images">The images.</param>
    /// <param name="into">At least images x <see cref="Length"/> floats.</param>
    /// <param name="normalize">Whether the mean and standard deviation are applied (false leaves scaled pixels, for augmentation first).</param>
    /// <exception cref="InvalidOperationException">An image cannot be read (the message names it).</exception>
    public void Fill(IReadOnlyList<MLImage> images, float[] into, bool normalize = true)
    {
        ArgumentNullException.ThrowIfNull(images);
        CheckRoom(images.Count, into);
        InSlices(images.Count, (first, count) => Read(
            _fromImages.Transform(new ColumnDataView<MLImage, MLImage>(_imageSchema, images, first, count, i => i)),
            first, count, into, normalize, i => $"image of batch row {i}"));
    }

    /// <summary>Writes the input of each path into <paramref name="into"/> (row-major, <see cref="Length"/> floats each).</summary>
    /// <param name="paths">Image files (relative ones under the image folder).</param>
    /// <param name="into">At least paths x <see cref="Length"/> floats.</param>
    /// <param name="normalize">Whether the mean and standard deviation are applied.</param>
    /// <exception cref="InvalidOperationException">An image cannot be read (the message names it).</exception>
    public void Fill(IReadOnlyList<string> paths, float[] into, bool normalize = true)
    {
        ArgumentNullException.ThrowIfNull(paths);
        CheckRoom(paths.Count, into);
        InSlices(paths.Count, (first, count) =>
        {
            for (int i = 0; i < count; i++)
            {
                CheckHeader(_imageFolder is null ? paths[first + i] : Path.Combine(_imageFolder, paths[first + i]));
            }
            Read(_fromPaths.Transform(new ColumnDataView<string, ReadOnlyMemory<char>>(_pathSchema, paths, first, count, p => p.AsMemory())),
                first, count, into, normalize, i => $"Image '{paths[i]}'");
        });
    }

    /// <summary>
    /// Writes each path's input alone (in parallel), after a batch failed, to tell the unreadable images
    /// from the rest: their slots are zeroed and their errors returned (null where the image was read).
    /// </summary>
    /// <param name="paths">Image files.</param>
    /// <param name="into">At least paths x <see cref="Length"/> floats.</param>
    /// <param name="normalize">Whether the mean and standard deviation are applied.</param>
    public InvalidOperationException?[] FillEach(IReadOnlyList<string> paths, float[] into, bool normalize = true)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return FillEach(paths.Count, into, (i, one) => Fill([paths[i]], one, normalize));
    }

    /// <summary>Writes each image's input alone (see the path overload).</summary>
    /// <param name="images">The images.</param>
    /// <param name="into">At least images x <see cref="Length"/> floats.</param>
    /// <param name="normalize">Whether the mean and standard deviation are applied.</param>
    public InvalidOperationException?[] FillEach(IReadOnlyList<MLImage> images, float[] into, bool normalize = true)
    {
        ArgumentNullException.ThrowIfNull(images);
        return FillEach(images.Count, into, (i, one) => Fill([images[i]], one, normalize));
    }

    private void CheckRoom(int count, float[] into)
    {
        ArgumentNullException.ThrowIfNull(into);
        if (into.Length < (long)count * Length)
        {
            throw new ArgumentException($"The buffer holds {into.Length} floats; {count} images of {Length} need {(long)count * Length}.", nameof(into));
        }
    }

    private InvalidOperationException?[] FillEach(int count, float[] into, Action<int, float[]> fillOne)
    {
        var errors = new InvalidOperationException?[count];
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = _workers }, i =>
        {
            float[] one = System.Buffers.ArrayPool<float>.Shared.Rent(Length);
            try
            {
                fillOne(i, one);
                one.AsSpan(0, Length).CopyTo(into.AsSpan(i * Length, Length));
            }
            catch (InvalidOperationException e)
            {
                into.AsSpan(i * Length, Length).Clear();
                errors[i] = e;
            }
            finally
            {
                System.Buffers.ArrayPool<float>.Shared.Return(one);
            }
        });
        return errors;
    }

    private void InSlices(int total, Action<int, int> slice)
    {
        int slices = Math.Clamp(_workers, 1, Math.Max(1, total));
        int per = (total + slices - 1) / slices;
        try
        {
            Parallel.For(0, slices, s =>
            {
                int first = s * per, count = Math.Min(per, total - first);
                if (count > 0)
                {
                    slice(first, count);
                }
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // One clear error (the first image that failed), not the parallel loop's wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    /// <summary>
    /// Largest image accepted, in pixels (50 megapixels, about 7000 x 7000): a decoder allocates what a
    /// header declares, and a few hundred bytes of PNG can declare 60000 x 60000.
    /// </summary>
    public const long MaxPixels = 50_000_000;

    /// <summary>Reads only the header of each file: unreadable files and decompression bombs fail here, before any decoding.</summary>
    private static void CheckHeader(string path)
    {
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"Image '{path}' does not exist.");
        }
        if (new FileInfo(path).Length == 0)
        {
            throw new InvalidOperationException($"Image '{path}' is empty (0 bytes).");
        }
        using SkiaSharp.SKCodec? codec = SkiaSharp.SKCodec.Create(path);
        if (codec is null)
        {
            throw new InvalidOperationException($"Image '{path}' cannot be read: not a supported image format, or its header is damaged.");
        }
        long pixels = (long)codec.Info.Width * codec.Info.Height;
        if (codec.Info.Width <= 0 || codec.Info.Height <= 0 || pixels > MaxPixels)
        {
            throw new InvalidOperationException(
                $"Image '{path}' declares {codec.Info.Width} x {codec.Info.Height} pixels, outside (0, {MaxPixels:N0}]: refused before decoding.");
        }
    }

    private void Read(IDataView pixels, int first, int count, float[] into, bool normalize, Func<int, string> name)
    {
        DataViewSchema.Column column = pixels.Schema[PixelsColumn];
        using DataViewRowCursor cursor = pixels.GetRowCursor([column]);
        ValueGetter<VBuffer<float>> get = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> buffer = default;
        for (int i = 0; i < count; i++)
        {
            try
            {
                if (!cursor.MoveNext())
                {
                    throw new InvalidOperationException("the image pipeline ended early");
                }
                get(ref buffer);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Exception cause = e;
                while (cause.InnerException is not null)
                {
                    cause = cause.InnerException;
                }
                throw new InvalidOperationException($"{name(first + i)} cannot be read: {cause.Message}", e);
            }
            Span<float> image = into.AsSpan((first + i) * Length, Length);
            buffer.CopyTo(image);
            if (normalize)
            {
                Normalize(image);
            }
        }
    }
}
