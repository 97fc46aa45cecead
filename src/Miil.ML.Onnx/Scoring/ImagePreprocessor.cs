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

    private readonly ITransformer _transform;
    private readonly DataViewSchema _pathSchema = PathsDataView.SchemaFor(PathColumn);

    public ImagePreprocessor(MLContext context, string? imageFolder, int imageSize)
    {
        ImageSize = imageSize;
        _transform = Chain(context, imageFolder, imageSize, PathColumn, TResNetOnnxModel.InputName)
            .Fit(new PathsDataView(_pathSchema, [], 0, 0));
    }

    public int ImageSize { get; }

    /// <summary>Floats per image: 3 x size x size.</summary>
    public int Length => 3 * ImageSize * ImageSize;

    /// <summary>The stock chain from an image-path column to the model input (also what a saved model holds).</summary>
    public static IEstimator<ITransformer> Chain(MLContext context, string? imageFolder, int imageSize, string pathColumn, string outputColumn)
        => context.Transforms.LoadImages(ImageColumn, imageFolder ?? "", pathColumn)
            .Append(context.Transforms.ResizeImages(ResizedColumn, imageSize, imageSize, ImageColumn, ImageResizingEstimator.ResizingKind.Fill))
            .Append(context.Transforms.ExtractPixels(outputColumn, ResizedColumn,
                colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Rgb, interleavePixelColors: false, scaleImage: 1f / 255f, outputAsFloatArray: true))
            .Append(context.Transforms.DropColumns(ImageColumn, ResizedColumn));

    /// <summary>Writes the input of each path into <paramref name="into"/> (row-major, <see cref="Length"/> floats each).</summary>
    public void Fill(IReadOnlyList<string> paths, float[] into)
    {
        int slices = Math.Clamp(Environment.ProcessorCount, 1, Math.Max(1, paths.Count));
        int per = (paths.Count + slices - 1) / slices;
        try
        {
            Parallel.For(0, slices, s => FillSlice(paths, s * per, Math.Min(per, paths.Count - s * per), into));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // One clear error (the first image that failed), not the parallel loop's wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    private void FillSlice(IReadOnlyList<string> paths, int first, int count, float[] into)
    {
        if (count <= 0)
        {
            return;
        }
        IDataView pixels = _transform.Transform(new PathsDataView(_pathSchema, paths, first, count));
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
                throw new InvalidOperationException($"Image '{paths[first + i]}' cannot be read: {cause.Message}", e);
            }
            buffer.CopyTo(into.AsSpan((first + i) * Length, Length));
        }
    }
}
