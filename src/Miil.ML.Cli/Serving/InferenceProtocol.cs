using System.Text.Json;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Serving;

namespace Miil.ML.Cli.Serving;

/// <summary>
/// The Open Inference Protocol v2 (KServe's and Triton's REST protocol, kserve/open-inference-protocol
/// inference_rest.md) for a Miil.ML model: the model's metadata, and an inference request's tensors read and its
/// response written. Inputs: <c>image</c> (BYTES, one base64-encoded image file per element) or <c>input</c> (FP32
/// [N, 3, size, size], preprocessed as the model's record says). Outputs: <c>Score</c> (FP32 [N, C]),
/// <c>PredictedLabels</c> (BOOL [N, C]) and <c>labels</c> (BYTES [N], each image's labels above their thresholds
/// joined by ';').
/// </summary>
internal static class InferenceProtocol
{
    public const string ImageInput = "image";
    public const string TensorInput = OnnxModelContract.InputName;
    public const string LabelsOutput = "labels";
    public const string Version = "1";

    /// <summary>A request the caller got wrong: answered 400 with the spec's error object.</summary>
    internal sealed class BadRequest(string message) : Exception(message);

    public static object ServerMetadata() => new Dictionary<string, object>
    {
        ["name"] = "miil",
        ["version"] = Generation.ConsoleAppGenerator.ToolVersion,
        ["extensions"] = Array.Empty<string>(),
    };

    public static object ModelMetadata(string name, MultiLabelOnnxModel model)
    {
        int c = model.ClassNames.Count, s = model.ImageSize;
        return new Dictionary<string, object>
        {
            ["name"] = name,
            ["versions"] = new[] { Version },
            ["platform"] = "onnxruntime_onnx",
            ["inputs"] = new object[]
            {
                Tensor(ImageInput, "BYTES", [-1]),
                Tensor(TensorInput, "FP32", [-1, 3, s, s]),
            },
            ["outputs"] = new object[]
            {
                Tensor(OnnxModelContract.ScoreName, "FP32", [-1, c]),
                Tensor(OnnxModelContract.PredictedLabelsName, "BOOL", [-1, c]),
                Tensor(LabelsOutput, "BYTES", [-1]),
            },
            // Parameter values are scalars in the protocol: the lists travel as JSON text.
            ["parameters"] = new Dictionary<string, object>
            {
                ["class_names"] = JsonSerializer.Serialize(model.ClassNames),
                ["thresholds"] = JsonSerializer.Serialize(model.Thresholds),
                ["image_size"] = s,
            },
        };
    }

    private static Dictionary<string, object> Tensor(string name, string datatype, long[] shape)
        => new() { ["name"] = name, ["datatype"] = datatype, ["shape"] = shape };

    /// <summary>One item to score: an encoded image or a preprocessed tensor.</summary>
    internal readonly record struct Item(byte[]? Image, float[]? Pixels, string Name);

    /// <summary>A parsed inference request: its id, the items, and the outputs asked for (null: all).</summary>
    internal sealed record Request(string? Id, IReadOnlyList<Item> Items, IReadOnlyList<string>? Outputs);

    public static Request Parse(JsonElement body, MultiLabelOnnxModel model, int maxItems)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw new BadRequest("The request body must be a JSON object with \"inputs\".");
        }
        string? id = body.TryGetProperty("id", out JsonElement idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
        if (!body.TryGetProperty("inputs", out JsonElement inputs) || inputs.ValueKind != JsonValueKind.Array || inputs.GetArrayLength() == 0)
        {
            throw new BadRequest("The request has no \"inputs\" (a list of tensors).");
        }
        if (inputs.GetArrayLength() != 1)
        {
            throw new BadRequest($"The request has {inputs.GetArrayLength()} inputs; give one: \"{ImageInput}\" (BYTES) or \"{TensorInput}\" (FP32).");
        }
        JsonElement input = inputs[0];
        string name = Text(input, "name");
        string datatype = Text(input, "datatype");
        long[] shape = Shape(input);
        if (!input.TryGetProperty("data", out JsonElement data))
        {
            throw new BadRequest($"Input \"{name}\" has no \"data\" (the binary data extension is not supported: send the tensor in JSON).");
        }
        List<Item> items = name switch
        {
            ImageInput => Images(datatype, shape, data),
            TensorInput => Tensors(datatype, shape, data, model),
            _ => throw new BadRequest($"Unknown input \"{name}\"; this model takes \"{ImageInput}\" (BYTES, base64-encoded image files) or \"{TensorInput}\" (FP32 [N, 3, {model.ImageSize}, {model.ImageSize}])."),
        };
        if (items.Count == 0 || items.Count > maxItems)
        {
            throw new BadRequest($"A request holds 1 to {maxItems} images; this one holds {items.Count}.");
        }
        List<string>? outputs = null;
        if (body.TryGetProperty("outputs", out JsonElement requested) && requested.ValueKind == JsonValueKind.Array)
        {
            outputs = requested.EnumerateArray().Select(o => Text(o, "name")).ToList();
            string[] known = [OnnxModelContract.ScoreName, OnnxModelContract.PredictedLabelsName, LabelsOutput];
            if (outputs.FirstOrDefault(o => !known.Contains(o)) is string unknown)
            {
                throw new BadRequest($"Unknown output \"{unknown}\"; this model has {string.Join(", ", known.Select(k => $"\"{k}\""))}.");
            }
        }
        return new Request(id, items, outputs);
    }

    private static List<Item> Images(string datatype, long[] shape, JsonElement data)
    {
        if (datatype != "BYTES")
        {
            throw new BadRequest($"Input \"{ImageInput}\" is BYTES (base64-encoded image files), not {datatype}.");
        }
        List<JsonElement> elements = Flatten(data).ToList();
        long count = shape.Aggregate(1L, (a, d) => a * d);
        if (shape.Length is < 1 or > 2 || (shape.Length == 2 && shape[1] != 1) || count != elements.Count)
        {
            throw new BadRequest($"Input \"{ImageInput}\" has shape [{string.Join(", ", shape)}] and {elements.Count} elements; give [N] (or [N, 1]) with N images.");
        }
        var items = new List<Item>(elements.Count);
        for (int i = 0; i < elements.Count; i++)
        {
            if (elements[i].ValueKind != JsonValueKind.String)
            {
                throw new BadRequest($"Element {i} of \"{ImageInput}\" is not a string (a base64-encoded image file).");
            }
            try
            {
                items.Add(new Item(Convert.FromBase64String(elements[i].GetString()!), null, $"image {i} of the request"));
            }
            catch (FormatException)
            {
                throw new BadRequest($"Element {i} of \"{ImageInput}\" is not base64.");
            }
        }
        return items;
    }

    private static List<Item> Tensors(string datatype, long[] shape, JsonElement data, MultiLabelOnnxModel model)
    {
        int s = model.ImageSize;
        if (datatype != "FP32")
        {
            throw new BadRequest($"Input \"{TensorInput}\" is FP32, not {datatype}.");
        }
        if (shape.Length != 4 || shape[1] != 3 || shape[2] != s || shape[3] != s || shape[0] < 1)
        {
            throw new BadRequest($"Input \"{TensorInput}\" has shape [{string.Join(", ", shape)}]; this model takes [N, 3, {s}, {s}].");
        }
        float[] values;
        try
        {
            values = Flatten(data).Select(e => e.GetSingle()).ToArray();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new BadRequest($"Input \"{TensorInput}\" holds a value that is not a number.");
        }
        int per = 3 * s * s;
        if (values.Length != shape[0] * per)
        {
            throw new BadRequest($"Input \"{TensorInput}\" of shape [{string.Join(", ", shape)}] needs {shape[0] * per} values; got {values.Length}.");
        }
        return Enumerable.Range(0, (int)shape[0]).Select(i => new Item(null, values.AsSpan(i * per, per).ToArray(), $"tensor {i} of the request")).ToList();
    }

    /// <summary>The response: the requested outputs (all by default) for the scored items, in order.</summary>
    public static object Response(string modelName, Request request, IReadOnlyList<MultiLabelPrediction> predictions)
    {
        int n = predictions.Count, c = predictions[0].ClassNames.Count;
        var outputs = new List<object>();
        bool Wanted(string name) => request.Outputs is null || request.Outputs.Contains(name);
        if (Wanted(OnnxModelContract.ScoreName))
        {
            outputs.Add(Output(OnnxModelContract.ScoreName, "FP32", [n, c], predictions.SelectMany(p => p.Scores).ToArray()));
        }
        if (Wanted(OnnxModelContract.PredictedLabelsName))
        {
            outputs.Add(Output(OnnxModelContract.PredictedLabelsName, "BOOL", [n, c], predictions.SelectMany(p => p.PredictedLabels).ToArray()));
        }
        if (Wanted(LabelsOutput))
        {
            outputs.Add(Output(LabelsOutput, "BYTES", [n], predictions.Select(p => string.Join(';', p.Labels.Select(l => l.Label))).ToArray()));
        }
        var response = new Dictionary<string, object> { ["model_name"] = modelName, ["model_version"] = Version, ["outputs"] = outputs };
        if (request.Id is not null)
        {
            response["id"] = request.Id;
        }
        return response;
    }

    private static Dictionary<string, object> Output(string name, string datatype, long[] shape, object data)
        => new() { ["name"] = name, ["datatype"] = datatype, ["shape"] = shape, ["data"] = data };

    private static string Text(JsonElement element, string property)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out JsonElement value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new BadRequest($"A tensor needs a \"{property}\" string.");

    private static long[] Shape(JsonElement input)
    {
        if (!input.TryGetProperty("shape", out JsonElement shape) || shape.ValueKind != JsonValueKind.Array)
        {
            throw new BadRequest("A tensor needs a \"shape\" (a list of sizes).");
        }
        try
        {
            return shape.EnumerateArray().Select(d => d.GetInt64()).ToArray();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new BadRequest("A tensor's \"shape\" holds whole numbers only.");
        }
    }

    /// <summary>Tensor data in row-major order, flat or nested as the protocol allows.</summary>
    private static IEnumerable<JsonElement> Flatten(JsonElement data)
    {
        if (data.ValueKind != JsonValueKind.Array)
        {
            yield return data;
            yield break;
        }
        foreach (JsonElement element in data.EnumerateArray())
        {
            foreach (JsonElement inner in Flatten(element))
            {
                yield return inner;
            }
        }
    }
}
