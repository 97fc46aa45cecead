using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Miil.ML.IO;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Checkpoints;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header (tensor name to
/// dtype, shape and byte offsets, plus an optional <c>__metadata__</c> map of strings), then the
/// raw little-endian tensor bytes. Everything the header claims is checked against the file before
/// anything is allocated, so a hostile or truncated file is an error, not a giant allocation.
/// </summary>
internal static class SafetensorsFile
{
    private const string MetadataKey = "__metadata__";

    /// <summary>Largest header accepted: real headers are kilobytes; the format's own limit is 100 MB.</summary>
    private const long MaxHeaderBytes = 100_000_000;

    public sealed record Contents(IReadOnlyList<(string Name, Tensor Tensor)> Tensors, IReadOnlyDictionary<string, string> Metadata);

    /// <param name="path">The file.</param>
    /// <param name="metadataOnly">Read the header only: metadata, no tensors.</param>
    public static Contents Read(string path, bool metadataOnly = false)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = stream.Length;
        if (fileLength < 8)
        {
            throw new CheckpointFormatException(path, $"not a safetensors file ({fileLength} bytes, shorter than the 8-byte header length).");
        }
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength < 2 || headerLength > (ulong)Math.Min(MaxHeaderBytes, fileLength - 8))
        {
            throw new CheckpointFormatException(path,
                $"safetensors header length {headerLength} does not fit the file ({fileLength} bytes): truncated or not a safetensors file.");
        }
        byte[] headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        List<KeyValuePair<string, JsonNode?>> header;
        try
        {
            JsonObject parsed = JsonNode.Parse(Encoding.UTF8.GetString(headerBytes).TrimEnd(' ')) as JsonObject
                ?? throw new JsonException("the header is not a JSON object");
            header = [.. parsed];  // JsonObject finds a repeated name only when its properties are first read
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(path, $"the safetensors header is not valid JSON ({e.Message}).", e);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointFormatException(path, $"the safetensors header names an entry twice ({e.Message}).", e);
        }

        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<(string Name, ScalarType Type, long[] Shape, long Begin, long End)>();
        foreach ((string name, JsonNode? node) in header)
        {
            if (name == MetadataKey)
            {
                foreach ((string key, JsonNode? value) in node as JsonObject ?? [])
                {
                    metadata[key] = value?.GetValue<string>() ?? "";
                }
                continue;
            }
            entries.Add(Describe(path, name, node, dataLength));
        }

        if (metadataOnly)
        {
            return new Contents([], metadata);
        }
        var tensors = new List<(string, Tensor)>(entries.Count);
        try
        {
            foreach ((string name, ScalarType type, long[] shape, long begin, long end) in entries.OrderBy(e => e.Begin))
            {
                Tensor t = empty(shape, type);
                stream.Position = dataStart + begin;
                if (end > begin)
                {
                    stream.ReadExactly(t.bytes);
                }
                tensors.Add((name, t));
            }
        }
        catch
        {
            foreach ((_, Tensor t) in tensors)
            {
                t.Dispose();
            }
            throw;
        }
        // Keep the header's order, which is the state dict's order for files written by torch.
        var order = entries.Select((e, i) => (e.Name, i)).ToDictionary(x => x.Name, x => x.i);
        return new Contents(tensors.OrderBy(t => order[t.Item1]).ToList(), metadata);
    }

    /// <summary>Writes the tensors (CPU copies are made as needed) and metadata through a temporary file and a rename.</summary>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var header = new JsonObject();
        if (metadata.Count > 0)
        {
            var meta = new JsonObject();
            foreach ((string key, string value) in metadata)
            {
                meta[key] = value;
            }
            header[MetadataKey] = meta;
        }
        var payload = new List<byte[]>();
        long offset = 0;
        foreach ((string name, Tensor tensor) in tensors)
        {
            // The scope frees the detached view and any device copy at once (this runs for every checkpoint).
            using var scope = NewDisposeScope();
            Tensor cpu = tensor.detach().cpu().contiguous();
            byte[] bytes = cpu.bytes.ToArray();
            header[name] = new JsonObject
            {
                ["dtype"] = DtypeName(cpu.dtype),
                ["shape"] = new JsonArray(cpu.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes.Length),
            };
            payload.Add(bytes);
            offset += bytes.Length;
        }
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;  // the format pads the header with spaces to 8 bytes

        AtomicFile.Write(path, stream =>
        {
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
            stream.Write(prefix);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++)
            {
                stream.WriteByte((byte)' ');
            }
            foreach (byte[] bytes in payload)
            {
                stream.Write(bytes);
            }
        });
    }

    private static (string, ScalarType, long[], long, long) Describe(string path, string name, JsonNode? node, long dataLength)
    {
        try
        {
            var entry = node as JsonObject ?? throw new FormatException("not an object");
            ScalarType type = ParseDtype(entry["dtype"]!.GetValue<string>());
            long[] shape = entry["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            long[] offsets = entry["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
            {
                throw new FormatException($"data offsets [{string.Join(", ", offsets)}] lie outside the {dataLength} data bytes of the file");
            }
            if (shape.Any(d => d < 0))
            {
                throw new FormatException($"negative dimension in shape [{string.Join(", ", shape)}]");
            }
            long elements = shape.Aggregate(1L, (a, d) => checked(a * d));
            long expected = checked(elements * ElementSize(type));
            if (expected != offsets[1] - offsets[0])
            {
                throw new FormatException($"shape [{string.Join(", ", shape)}] of {type} needs {expected} bytes but the offsets give {offsets[1] - offsets[0]}");
            }
            return (name, type, shape, offsets[0], offsets[1]);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or NullReferenceException or OverflowException or JsonException)
        {
            throw new CheckpointFormatException(path, $"tensor '{name}' in the safetensors header is invalid: {e.Message}.", e);
        }
    }

    private static ScalarType ParseDtype(string dtype) => dtype switch
    {
        "F64" => ScalarType.Float64,
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new FormatException($"unsupported dtype '{dtype}'"),
    };

    private static string DtypeName(ScalarType type) => type switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"safetensors cannot hold {type} tensors."),
    };

    private static long ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}
