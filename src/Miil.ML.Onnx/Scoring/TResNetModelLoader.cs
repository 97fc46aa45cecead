using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.Onnx.Scoring;

/// <summary>
/// Rebuilds the batched scorer from a model zip that <c>mlContext.Model.Save</c> wrote for a
/// <see cref="TResNetScoringTransformer"/> (a chain of stock transforms with the ONNX model inside):
/// class names and thresholds come from the embedded model's metadata, the image folder from the
/// stock image loader.
/// </summary>
internal static class TResNetModelLoader
{
    public static TResNetScoringTransformer Load(MLContext context, string path, TResNetScoringOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model '{path}' does not exist.", path);
        }
        ITransformer stock = context.Model.Load(path, out DataViewSchema inputSchema);
        string? folder = (stock as IEnumerable<ITransformer>)?.OfType<ImageLoadingTransformer>().FirstOrDefault()?.ImageFolder;
        byte[] onnx = EmbeddedOnnx(path);
        TResNetScoringOptions resolved = options with { ImageFolder = options.ImageFolder ?? (string.IsNullOrEmpty(folder) ? null : folder) };
        resolved.Validate();
        var scorer = new TResNetBatchScorer(context, onnx, resolved.ImageFolder,
            resolved.GpuDeviceId ?? context.GpuDeviceId, resolved.FallbackToCpu ?? context.FallbackToCpu, $"the ONNX model in '{path}'")
        {
            SkipUnreadableImages = resolved.SkipUnreadableImages,
        };
        var transformer = new TResNetScoringTransformer(scorer, stock, resolved);
        try
        {
            transformer.GetOutputSchema(inputSchema);
            return transformer;
        }
        catch
        {
            transformer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The ONNX bytes the stock ONNX transformer stored (entry <c>.../OnnxModel</c>: a length, then the
    /// bytes). The length's width is checked against the entry's size rather than assumed.
    /// </summary>
    private static byte[] EmbeddedOnnx(string path)
    {
        using ZipArchive zip = ZipFile.OpenRead(path);
        ZipArchiveEntry[] entries = zip.Entries.Where(e => e.FullName.EndsWith("/OnnxModel", StringComparison.Ordinal)).ToArray();
        if (entries.Length != 1)
        {
            throw new InvalidOperationException($"Model '{path}' holds {entries.Length} ONNX models; a scorer saved by ScoreTResNet holds exactly one.");
        }
        using var buffer = new MemoryStream();
        using (Stream stream = entries[0].Open())
        {
            stream.CopyTo(buffer);
        }
        byte[] bytes = buffer.ToArray();
        foreach (int prefix in new[] { 8, 4 })
        {
            if (bytes.Length >= prefix)
            {
                long length = prefix == 8 ? BinaryPrimitives.ReadInt64LittleEndian(bytes) : BinaryPrimitives.ReadInt32LittleEndian(bytes);
                if (length == bytes.Length - prefix)
                {
                    return bytes[prefix..];
                }
            }
        }
        throw new InvalidOperationException($"Model '{path}': the embedded ONNX model has an unexpected layout.");
    }
}
