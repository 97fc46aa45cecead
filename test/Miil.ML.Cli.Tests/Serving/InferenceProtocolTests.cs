using System.Text.Json;
using Miil.ML.Cli.Serving;
using Miil.ML.Images;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Serving;

namespace Miil.ML.Cli.Tests.Serving;

/// <summary>The Open Inference Protocol's request and response shapes (inference_rest.md) as the server reads and writes them.</summary>
[TestClass]
public sealed class InferenceProtocolTests
{
    private static readonly MultiLabelOnnxModel Model = new()
    {
        ClassNames = ["cat", "dog", "car"],
        Thresholds = [0.5f, 0.6f, 0.7f],
        Preprocessing = ImagePreprocessing.Unnormalized(2),
    };

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    [TestMethod]
    public void TheSpecsBytesRequestGivesOneImagePerElement()
    {
        string a = Convert.ToBase64String([1, 2, 3]), b = Convert.ToBase64String([4, 5]);
        InferenceProtocol.Request request = InferenceProtocol.Parse(Json($$"""
            { "id" : "42", "inputs" : [ { "name" : "image", "shape" : [ 2 ], "datatype" : "BYTES", "data" : [ "{{a}}", "{{b}}" ] } ],
              "outputs" : [ { "name" : "Score" } ] }
            """), Model, 8);
        Assert.AreEqual("42", request.Id);
        Assert.HasCount(2, request.Items);
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3 }, request.Items[0].Image);
        CollectionAssert.AreEqual(new byte[] { 4, 5 }, request.Items[1].Image);
        CollectionAssert.AreEqual(new[] { "Score" }, request.Outputs!.ToArray());
    }

    [TestMethod]
    public void AnFp32TensorIsReadFlatOrNestedInRowMajorOrder()
    {
        float[] values = Enumerable.Range(0, 24).Select(i => i / 10f).ToArray();
        string flat = string.Join(", ", values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        string nested = JsonSerializer.Serialize(Enumerable.Range(0, 2).Select(n => Enumerable.Range(0, 3).Select(c => Enumerable.Range(0, 2).Select(y =>
            Enumerable.Range(0, 2).Select(x => values[((n * 3 + c) * 2 + y) * 2 + x]).ToArray()).ToArray()).ToArray()).ToArray());
        foreach (string data in new[] { $"[{flat}]", nested })
        {
            InferenceProtocol.Request request = InferenceProtocol.Parse(Json($$"""
                { "inputs" : [ { "name" : "input", "shape" : [ 2, 3, 2, 2 ], "datatype" : "FP32", "data" : {{data}} } ] }
                """), Model, 8);
            Assert.HasCount(2, request.Items);
            CollectionAssert.AreEqual(values[..12], request.Items[0].Pixels);
            CollectionAssert.AreEqual(values[12..], request.Items[1].Pixels);
            Assert.IsNull(request.Outputs);
        }
    }

    [TestMethod]
    [DataRow("""{ "inputs" : [ { "name" : "pixels", "shape" : [1], "datatype" : "BYTES", "data" : ["AA=="] } ] }""", "Unknown input \"pixels\"")]
    [DataRow("""{ "inputs" : [ { "name" : "image", "shape" : [2], "datatype" : "BYTES", "data" : ["AA=="] } ] }""", "shape [2] and 1 elements")]
    [DataRow("""{ "inputs" : [ { "name" : "image", "shape" : [1], "datatype" : "BYTES", "data" : ["not base64!"] } ] }""", "not base64")]
    [DataRow("""{ "inputs" : [ { "name" : "image", "shape" : [1], "datatype" : "FP32", "data" : [1.0] } ] }""", "is BYTES")]
    [DataRow("""{ "inputs" : [ { "name" : "input", "shape" : [1, 3, 4, 4], "datatype" : "FP32", "data" : [1.0] } ] }""", "takes [N, 3, 2, 2]")]
    [DataRow("""{ "inputs" : [ { "name" : "input", "shape" : [1, 3, 2, 2], "datatype" : "FP32", "data" : [1.0, 2.0] } ] }""", "needs 12 values; got 2")]
    [DataRow("""{ "inputs" : [ { "name" : "input", "shape" : [1, 3, 2, 2], "datatype" : "FP32", "data" : ["a","b","c","d","e","f","g","h","i","j","k","l"] } ] }""", "not a number")]
    [DataRow("""{ "inputs" : [ { "name" : "image", "shape" : [1], "datatype" : "BYTES", "data" : ["AA=="] } ], "outputs" : [ { "name" : "logits" } ] }""", "Unknown output \"logits\"")]
    [DataRow("""{ "inputs" : [ ] }""", "no \"inputs\"")]
    [DataRow("""{ "inputs" : [ { "name" : "image", "datatype" : "BYTES", "data" : ["AA=="] } ] }""", "needs a \"shape\"")]
    [DataRow("""[ 1, 2 ]""", "JSON object")]
    public void ABadRequestIsRefusedNamingWhatIsWrong(string body, string expected)
    {
        var e = Assert.ThrowsExactly<InferenceProtocol.BadRequest>(() => InferenceProtocol.Parse(Json(body), Model, 8));
        StringAssert.Contains(e.Message, expected);
    }

    [TestMethod]
    public void MoreImagesThanARequestMayHoldAreRefused()
    {
        string data = string.Join(", ", Enumerable.Repeat("\"AA==\"", 3));
        var e = Assert.ThrowsExactly<InferenceProtocol.BadRequest>(() => InferenceProtocol.Parse(Json($$"""
            { "inputs" : [ { "name" : "image", "shape" : [3], "datatype" : "BYTES", "data" : [ {{data}} ] } ] }
            """), Model, 2));
        StringAssert.Contains(e.Message, "1 to 2 images");
    }

    [TestMethod]
    public void TheResponseHoldsTheRequestedOutputsWithTheirShapes()
    {
        MultiLabelPrediction[] predictions =
        [
            new() { ClassNames = Model.ClassNames, Scores = [0.9f, 0.2f, 0.8f], PredictedLabels = [true, false, true] },
            new() { ClassNames = Model.ClassNames, Scores = [0.1f, 0.7f, 0.3f], PredictedLabels = [false, true, false] },
        ];
        var all = new InferenceProtocol.Request("7", [], null);
        JsonElement response = Json(JsonSerializer.Serialize(InferenceProtocol.Response("m", all, predictions)));
        Assert.AreEqual("m", response.GetProperty("model_name").GetString());
        Assert.AreEqual("7", response.GetProperty("id").GetString());
        JsonElement[] outputs = response.GetProperty("outputs").EnumerateArray().ToArray();
        CollectionAssert.AreEqual(new[] { "Score", "PredictedLabels", "labels" }, outputs.Select(o => o.GetProperty("name").GetString()).ToArray());
        CollectionAssert.AreEqual(new long[] { 2, 3 }, outputs[0].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray());
        CollectionAssert.AreEqual(new[] { 0.9f, 0.2f, 0.8f, 0.1f, 0.7f, 0.3f }, outputs[0].GetProperty("data").EnumerateArray().Select(d => d.GetSingle()).ToArray());
        Assert.AreEqual("BOOL", outputs[1].GetProperty("datatype").GetString());
        CollectionAssert.AreEqual(new[] { "cat;car", "dog" }, outputs[2].GetProperty("data").EnumerateArray().Select(d => d.GetString()).ToArray());

        var scoresOnly = new InferenceProtocol.Request(null, [], ["labels"]);
        JsonElement narrow = Json(JsonSerializer.Serialize(InferenceProtocol.Response("m", scoresOnly, predictions)));
        Assert.AreEqual(1, narrow.GetProperty("outputs").GetArrayLength());
        Assert.IsFalse(narrow.TryGetProperty("id", out _));
    }

    [TestMethod]
    public void TheModelMetadataDescribesTheInputsOutputsAndClasses()
    {
        JsonElement metadata = Json(JsonSerializer.Serialize(InferenceProtocol.ModelMetadata("m", Model)));
        Assert.AreEqual("m", metadata.GetProperty("name").GetString());
        JsonElement tensor = metadata.GetProperty("inputs")[1];
        Assert.AreEqual("input", tensor.GetProperty("name").GetString());
        CollectionAssert.AreEqual(new long[] { -1, 3, 2, 2 }, tensor.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray());
        CollectionAssert.AreEqual(new long[] { -1, 3 }, metadata.GetProperty("outputs")[0].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray());
        string classes = metadata.GetProperty("parameters").GetProperty("class_names").GetString()!;
        CollectionAssert.AreEqual(new[] { "cat", "dog", "car" }, JsonSerializer.Deserialize<string[]>(classes));
    }
}
