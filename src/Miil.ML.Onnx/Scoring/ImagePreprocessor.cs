using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Miil.ML.Onnx.Scoring;

/// <summary>
/// Turns image files into the exported model's input with ML.NET's own ImageAnalytics transforms
/// (load, squash resize, planar RGB scaled by 1/255): the very code a saved pipeline runs, so batched
/// scoring, the stock chain and training see the same pixels. Batches are cut into one slice per
/// core, each transformed on its own cursor.
/// </summary>
internal sealed class ImagePreprocessor
{
    private const string PathColumn = "__MiilImagePath";
    private const string ImageColumn = "__MiilImage";
    private const string ResizedColumn = "__MiilResized";

    private const string InputImageColumn = "__MiilInputImage";

    private readonly ITransformer _fromPaths;
    private readonly ITransformer _fromImages;
    private readonly DataViewSchema _pathSchema = ColumnDataView<string, ReadOnlyMemory<char>>.SchemaFor(PathColumn, TextDataViewType.Instance);
    private readonly DataViewSchema _imageSchema = ColumnDataView<MLImage, MLImage>.SchemaFor(InputImageColumn, new ImageDataViewType());

    private readonly string? _imageFolder;

    private readonly int _workers;

    /// <param name="context">Context of the image transforms.</param>
    /// <param name="imageFolder">Folder relative paths are resolved against.</param>
    /// <param name="imageSize">Side of the square output.</param>
    /// <param name="workers">Slices a batch is cut into (each decoded on its own thread); default the processor count.</param>
    public ImagePreprocessor(MLContext context, string? imageFolder, int imageSize, int? workers = null)
    {
        _workers = Math.Max(1, workers ?? Environment.ProcessorCount);
        _imageFolder = string.IsNullOrEmpty(imageFolder) ? null : imageFolder;
        ImageSize = imageSize;
        _fromPaths = Chain(context, imageFolder, imageSize, PathColumn, TResNetOnnxModel.InputName, fromPaths: true)
            .Fit(new ColumnDataView<string, ReadOnlyMemory<char>>(_pathSchema, [], 0, 0, p => p.AsMemory()));
        _fromImages = Chain(context, imageFolder, imageSize, InputImageColumn, TResNetOnnxModel.InputName, fromPaths: false)
            .Fit(new ColumnDataView<MLImage, MLImage>(_imageSchema, [], 0, 0, i => i));
    }

    public int ImageSize { get; }

    /// <summary>Floats per image: 3 x size x size.</summary>
    public int Length => 3 * ImageSize * ImageSize;

    /// <summary>
    /// The stock chain from an image-path (or image) column to the model input; also what a saved
    /// model holds.
    /// </summary>
    public static IEstimator<ITransformer> Chain(MLContext context, string? imageFolder, int imageSize, string inputColumn, string outputColumn, bool fromPaths)
    {
        string image = fromPaths ? ImageColumn : inputColumn;
        IEstimator<ITransformer> resize = context.Transforms.ResizeImages(ResizedColumn, imageSize, imageSize, image, ImageResizingEstimator.ResizingKind.Fill);
        IEstimator<ITransformer> chain = fromPaths ? context.Transforms.LoadImages(ImageColumn, imageFolder ?? "", inputColumn).Append(resize) : resize;
        return chain
            .Append(context.Transforms.ExtractPixels(outputColumn, ResizedColumn,
                colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Rgb, interleavePixelColors: false, scaleImage: 1f / 255f, outputAsFloatArray: true))
            .Append(context.Transforms.DropColumns(fromPaths ? [ImageColumn, ResizedColumn] : [ResizedColumn]));
    }

    /// <summary>Writes the input of each image into <paramref name="into"/> (row-major, <see cref="Length"/> floats each).</summary>
    public void Fill(IReadOnlyList<MLImage> images, float[] into)
        => InSlices(images.Count, (first, count) => Read(
            _fromImages.Transform(new ColumnDataView<MLImage, MLImage>(_imageSchema, images, first, count, i => i)),
            first, count, into, i => $"image of batch row {i}"));

    /// <summary>Writes the input of each path into <paramref name="into"/> (row-major, <see cref="Length"/> floats each).</summary>
    public void Fill(IReadOnlyList<string> paths, float[] into)
        => InSlices(paths.Count, (first, count) =>
        {
            for (int i = 0; i < count; i++)
            {
                CheckHeader(_imageFolder is null ? paths[first + i] : Path.Combine(_imageFolder, paths[first + i]));
            }
            Read(_fromPaths.Transform(new ColumnDataView<string, ReadOnlyMemory<char>>(_pathSchema, paths, first, count, p => p.AsMemory())),
                first, count, into, i => $"Image '{paths[i]}'");
        });

    /// <summary>
    /// Writes each path's input alone (in parallel), after a batch failed, to tell the unreadable images
    /// from the rest: their slots are zeroed and their errors returned (null where the image was read).
    /// </summary>
    public InvalidOperationException?[] FillEach(IReadOnlyList<string> paths, float[] into) => FillEach(paths.Count, into, (i, one) => Fill([paths[i]], one));

    /// <summary>Writes each image's input alone (see the path overload).</summary>
    public InvalidOperationException?[] FillEach(IReadOnlyList<MLImage> images, float[] into) => FillEach(images.Count, into, (i, one) => Fill([images[i]], one));

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

    private void Read(IDataView pixels, int first, int count, float[] into, Func<int, string> name)
    {
        DataViewSchema.Column column = pixels.Schema[TResNetOnnxModel.InputName];
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
            buffer.CopyTo(into.AsSpan((first + i) * Length, Length));
        }
    }
}
