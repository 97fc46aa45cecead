using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.Onnx.Scoring;

/// <summary>
/// Rebuilds the batched scorer from a model zip that <c>mlContext.Model.Save</c> wrote for an
/// <see cref="ImageScoringTransformer"/> or a trained model (a chain of stock transforms with the ONNX
/// model inside): class names, thresholds and preprocessing come from the embedded model's metadata,
/// the image folder from the stock image loader. Files that are not such zips are refused with what
/// they are and what to do, before ML.NET reads them.
/// </summary>
internal static class ModelZipLoader
{
    /// <summary>What every zip entry of ML.NET's model format stores an ONNX transformer's model under.</summary>
    private const string OnnxEntrySuffix = "/OnnxModel";

    public static ImageScoringTransformer Load(MLContext context, string path, ImageScoringOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(Directory.Exists(path)
                ? $"Model '{path}' is a folder; LoadModel reads the .zip file that mlContext.Model.Save wrote."
                : $"Model '{path}' does not exist.", path);
        }
        byte[] onnx = EmbeddedOnnx(path);
        ITransformer stock;
        DataViewSchema inputSchema;
        try
        {
            stock = context.Model.Load(path, out inputSchema);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or InvalidDataException or IOException)
        {
            throw new InvalidOperationException($"Model '{path}' holds a Miil.ML ONNX model but ML.NET cannot load the zip ({e.Message}). Save it again with mlContext.Model.Save.", e);
        }
        string? folder = (stock as IEnumerable<ITransformer>)?.OfType<ImageLoadingTransformer>().FirstOrDefault()?.ImageFolder;
        // The loaded chain holds a second ONNX Runtime session on the same model: what it tells (the input
        // schema, the image folder) is kept, the chain is not; saving again fits an equivalent one.
        (stock as IDisposable)?.Dispose();
        ImageScoringOptions resolved = options with { ImageFolder = options.ImageFolder ?? (string.IsNullOrEmpty(folder) ? null : folder) };
        resolved.Validate();
        var estimator = new ImageScoringEstimator(context, onnx, $"the ONNX model in '{path}'", resolved);
        return estimator.Fit(new EmptyDataView(inputSchema));
    }

    /// <summary>The ONNX model a file holds: the embedded one of a model zip (<see cref="EmbeddedOnnx"/>), or the file itself.</summary>
    internal static byte[] OnnxOf(string path) => LooksLikeZip(path) ? EmbeddedOnnx(path) : File.ReadAllBytes(path);

    /// <summary>
    /// The ONNX bytes of the one multi-label model the zip holds (the stock ONNX transformer stores each
    /// model in an entry <c>.../OnnxModel</c>: a length, then the bytes; other ONNX steps such as a
    /// normalisation or thresholds graph are told apart by the contract's outputs).
    /// </summary>
    internal static byte[] EmbeddedOnnx(string path)
    {
        if (!LooksLikeZip(path))
        {
            throw new InvalidOperationException(LooksLikeOnnx(path)
                ? $"Model '{path}' is an ONNX model, not a model zip: score it with mlContext.MultiLabel().ScoreImages(\"{path}\"). LoadModel reads the .zip that mlContext.Model.Save writes."
                : $"Model '{path}' is not a model zip (no zip header). LoadModel reads the .zip that mlContext.Model.Save writes for a Miil.ML scorer or trained model; an exported .onnx goes to ScoreImages.");
        }
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidOperationException($"Model '{path}' is a damaged zip ({e.Message}); save the model again with mlContext.Model.Save.", e);
        }
        using (zip)
        {
            ZipArchiveEntry? unsafeEntry = zip.Entries.FirstOrDefault(e => IsUnsafe(e.FullName));
            if (unsafeEntry is not null)
            {
                throw new InvalidOperationException(
                    $"Model '{path}' has the entry '{unsafeEntry.FullName}', whose name leaves the archive: refused (ML.NET never writes such names).");
            }
            var models = new List<byte[]>();
            int onnxEntries = 0;
            foreach (ZipArchiveEntry entry in zip.Entries.Where(e => e.FullName.EndsWith(OnnxEntrySuffix, StringComparison.Ordinal)))
            {
                onnxEntries++;
                byte[]? bytes = Unprefixed(entry);
                if (bytes is not null && FollowsContract(bytes))
                {
                    models.Add(bytes);
                }
            }
            return models.Count switch
            {
                1 => models[0],
                0 when onnxEntries == 0 => throw new InvalidOperationException(
                    $"Model '{path}' holds no ONNX model: it is not a zip saved from a Miil.ML scorer or trained model ({zip.Entries.Count} entries). Save one with mlContext.Model.Save(model, schema, path)."),
                0 => throw new InvalidOperationException(
                    $"Model '{path}' holds {onnxEntries} ONNX model(s), none of them a Miil.ML multi-label model (no Score and PredictedLabels outputs with class metadata)."),
                _ => throw new InvalidOperationException($"Model '{path}' holds {models.Count} Miil.ML multi-label models; LoadModel restores a zip with exactly one."),
            };
        }
    }

    private static bool IsUnsafe(string name)
        => name.Contains('\\') || name.StartsWith('/') || Path.IsPathRooted(name) || name.Split('/').Any(part => part == "..");

    private static byte[]? Unprefixed(ZipArchiveEntry entry)
    {
        using var buffer = new MemoryStream();
        using (Stream stream = entry.Open())
        {
            stream.CopyTo(buffer);
        }
        byte[] bytes = buffer.ToArray();
        // The length's width is checked against the entry's size rather than assumed.
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
        return null;
    }

    private static bool FollowsContract(byte[] onnx)
    {
        try
        {
            global::Onnx.ModelProto model = global::Onnx.ModelProto.Parser.ParseFrom(onnx);
            return model.Graph.Output.Any(o => o.Name == OnnxModelContract.ScoreName)
                && model.Graph.Output.Any(o => o.Name == OnnxModelContract.PredictedLabelsName)
                && model.MetadataProps.Any(p => p.Key == OnnxModelContract.MetadataKeys.ClassNames);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return false;
        }
    }

    internal static bool LooksLikeZip(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using FileStream stream = File.OpenRead(path);
        return stream.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && head[0] == 0x50 && head[1] == 0x4b && head[2] == 0x03 && head[3] == 0x04;
    }

    private static bool LooksLikeOnnx(string path)
    {
        try
        {
            global::Onnx.ModelProto model = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            return model.Graph is not null && model.OpsetImport.Count > 0;
        }
        catch (Exception e) when (e is Google.Protobuf.InvalidProtocolBufferException or IOException)
        {
            return false;
        }
    }
}
