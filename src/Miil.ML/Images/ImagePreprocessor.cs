using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Miil.ML.Images;

/// <summary>
/// Turns images (files or <see cref="MLImage"/>s) into a network's input as an
/// <see cref="ImagePreprocessing"/> record describes it: squash resize, planar pixels scaled, then the
/// per-channel mean and standard deviation. Used by the trainer and the scorer alike, so both see the
/// same pixels, which are bit for bit those of ML.NET's ImageAnalytics chain (<see cref="StockChain"/>,
/// what a saved pipeline runs): files are decoded with the same Skia calls, straight to the input
/// (<c>ImageDecoder</c>); in-memory images go through the stock transforms themselves.
/// </summary>
/// <remarks>
/// Thread-safe: every call works on its own buffers. Files are checked before anything large is
/// allocated (missing, empty, unknown format, over <see cref="MaxPixels"/>), and a file whose data ends
/// early is refused as truncated rather than decoded with its missing rows left black.
/// </remarks>
internal sealed class ImagePreprocessor
{
    private const string ResizedColumn = "__MiilResized";
    private const string PixelsColumn = "__MiilPixels";
    private const string InputImageColumn = "__MiilInputImage";
    private const string LoadedImageColumn = "__MiilImage";

    private readonly ITransformer _fromImages;
    private readonly DataViewSchema _imageSchema = ColumnDataView<MLImage, MLImage>.SchemaFor(InputImageColumn, new ImageDataViewType());
    private readonly string? _imageFolder;
    private readonly int _workers;
    private readonly float[] _mean;
    private readonly float[] _std;

    /// <param name="mlContext">Context of the image transforms.</param>
    /// <param name="preprocessing">Size, channel order, scale, mean and standard deviation.</param>
    /// <param name="imageFolder">Folder relative paths are resolved against; null for paths as given.</param>
    /// <param name="workers">Images decoded at once; default the processor count.</param>
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
        _fromImages = StockChain(mlContext, preprocessing, imageFolder, InputImageColumn, PixelsColumn, fromPaths: false)
            .Fit(new ColumnDataView<MLImage, MLImage>(_imageSchema, [], 0, 0, i => i));
    }

    /// <summary>
    /// Largest image accepted, in pixels (50 megapixels, about 7000 x 7000): a decoder allocates what a
    /// header declares, and a few hundred bytes of PNG can declare 60000 x 60000.
    /// </summary>
    public const long MaxPixels = ImageDecoder.MaxPixels;

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
        string image = fromPaths ? LoadedImageColumn : inputColumn;
        int size = preprocessing.ImageSize;
        IEstimator<ITransformer> resize = mlContext.Transforms.ResizeImages(ResizedColumn, size, size, image, ImageResizingEstimator.ResizingKind.Fill);
        IEstimator<ITransformer> chain = fromPaths ? mlContext.Transforms.LoadImages(LoadedImageColumn, imageFolder ?? "", inputColumn).Append(resize) : resize;
        ImagePixelExtractingEstimator.ColorsOrder order = preprocessing.ChannelOrder == ColorChannelOrder.Rgb
            ? ImagePixelExtractingEstimator.ColorsOrder.ARGB
            : ImagePixelExtractingEstimator.ColorsOrder.ABGR;
        return chain
            .Append(mlContext.Transforms.ExtractPixels(outputColumn, ResizedColumn, colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Rgb,
                orderOfExtraction: order, interleavePixelColors: false, scaleImage: preprocessing.Scale, outputAsFloatArray: true))
            .Append(mlContext.Transforms.DropColumns(fromPaths ? [LoadedImageColumn, ResizedColumn] : [ResizedColumn]));
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

    /// <summary>Writes the input of each path into <paramref name="into"/> (row-major, <see cref="Length"/> floats each).</summary>
    /// <param name="paths">Image files (relative ones under the image folder).</param>
    /// <param name="into">At least paths x <see cref="Length"/> floats.</param>
    /// <param name="normalize">Whether the mean and standard deviation are applied (false leaves scaled pixels, for augmentation first).</param>
    /// <exception cref="InvalidOperationException">An image cannot be read (the message names the first such in the list).</exception>
    public void Fill(IReadOnlyList<string> paths, float[] into, bool normalize = true)
        => ThrowFirst(FillEach(paths, into, normalize));

    /// <summary>
    /// Writes the input of each path into <paramref name="into"/>, images in parallel, and returns each
    /// one's error (null where it was read); the slots of unreadable images are zeroed.
    /// </summary>
    /// <param name="paths">Image files.</param>
    /// <param name="into">At least paths x <see cref="Length"/> floats.</param>
    /// <param name="normalize">Whether the mean and standard deviation are applied.</param>
    public InvalidOperationException?[] FillEach(IReadOnlyList<string> paths, float[] into, bool normalize = true)
    {
        ArgumentNullException.ThrowIfNull(paths);
        CheckRoom(paths.Count, into);
        return ForEach(paths.Count, i =>
        {
            Span<float> image = into.AsSpan(i * Length, Length);
            string path = paths[i] ?? throw new InvalidOperationException($"Image path {i} of the batch is null.");
            ImageDecoder.Read(_imageFolder is null ? path : Path.Combine(_imageFolder, path), Preprocessing, image);
            if (normalize)
            {
                Normalize(image);
            }
        }, i => into.AsSpan(i * Length, Length).Clear());
    }

    /// <summary>
    /// Writes the input of one encoded image held in memory (PNG, JPEG, ... as uploaded) into
    /// <paramref name="into"/>: the same decoding, resize and pixels as from a file.
    /// </summary>
    /// <param name="encoded">The file's bytes.</param>
    /// <param name="into"><see cref="Length"/> floats.</param>
    /// <param name="name">How to name the image in an error.</param>
    /// <param name="normalize">Whether the mean and standard deviation are applied.</param>
    /// <exception cref="InvalidOperationException">The bytes are empty, not an image, too large (<see cref="MaxPixels"/>), damaged or truncated.</exception>
    public void Fill(ReadOnlySpan<byte> encoded, Span<float> into, string name = "the image", bool normalize = true)
    {
        if (into.Length < Length)
        {
            throw new ArgumentException($"The buffer holds {into.Length} floats; one image needs {Length}.", nameof(into));
        }
        ImageDecoder.Read(encoded, name, Preprocessing, into[..Length]);
        if (normalize)
        {
            Normalize(into[..Length]);
        }
    }

    /// <summary>Writes the input of each image into <paramref name="into"/> (row-major, <see cref="Length"/> floats each).</summary>
    /// <param name="images">The images.</param>
    /// <param name="into">At least images x <see cref="Length"/> floats.</param>
    /// <param name="normalize">Whether the mean and standard deviation are applied (false leaves scaled pixels, for augmentation first).</param>
    /// <exception cref="InvalidOperationException">An image cannot be used (the message names its row).</exception>
    public void Fill(IReadOnlyList<MLImage> images, float[] into, bool normalize = true)
        => ThrowFirst(FillEach(images, into, normalize));

    /// <summary>Writes each image's input (see the path overload) and returns each one's error.</summary>
    /// <param name="images">The images.</param>
    /// <param name="into">At least images x <see cref="Length"/> floats.</param>
    /// <param name="normalize">Whether the mean and standard deviation are applied.</param>
    public InvalidOperationException?[] FillEach(IReadOnlyList<MLImage> images, float[] into, bool normalize = true)
    {
        ArgumentNullException.ThrowIfNull(images);
        CheckRoom(images.Count, into);
        return ForEach(images.Count, i =>
        {
            Span<float> image = into.AsSpan(i * Length, Length);
            ReadWithStockChain(images, i, image);
            if (normalize)
            {
                Normalize(image);
            }
        }, i => into.AsSpan(i * Length, Length).Clear());
    }

    /// <summary>Runs <paramref name="read"/> for each index on up to the workers' threads (inline for one), collecting errors per index.</summary>
    private InvalidOperationException?[] ForEach(int count, Action<int> read, Action<int> clear)
    {
        var errors = new InvalidOperationException?[count];
        void One(int i)
        {
            try
            {
                read(i);
            }
            catch (InvalidOperationException e)
            {
                clear(i);
                errors[i] = e;
            }
        }
        if (count == 1 || _workers == 1)
        {
            for (int i = 0; i < count; i++)
            {
                One(i);
            }
        }
        else
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = _workers }, One);
        }
        return errors;
    }

    private static void ThrowFirst(InvalidOperationException?[] errors)
    {
        foreach (InvalidOperationException? e in errors)
        {
            if (e is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
            }
        }
    }

    private void CheckRoom(int count, float[] into)
    {
        ArgumentNullException.ThrowIfNull(into);
        if (into.Length < (long)count * Length)
        {
            throw new ArgumentException($"The buffer holds {into.Length} floats; {count} images of {Length} need {(long)count * Length}.", nameof(into));
        }
    }

    /// <summary>An in-memory image through the stock resize and pixel transforms (ML.NET's own code on ML.NET's own image type).</summary>
    private void ReadWithStockChain(IReadOnlyList<MLImage> images, int index, Span<float> into)
    {
        IDataView pixels = _fromImages.Transform(new ColumnDataView<MLImage, MLImage>(_imageSchema, images, index, 1, i => i));
        DataViewSchema.Column column = pixels.Schema[PixelsColumn];
        using DataViewRowCursor cursor = pixels.GetRowCursor([column]);
        ValueGetter<VBuffer<float>> get = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> buffer = default;
        try
        {
            if (images[index] is null)
            {
                throw new InvalidOperationException("the row has no image");
            }
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
            throw new InvalidOperationException($"The image of batch row {index} cannot be used: {cause.Message}", e);
        }
        buffer.CopyTo(into);
    }
}
