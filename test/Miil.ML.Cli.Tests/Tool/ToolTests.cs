using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Miil.ML.Datasets;
using Miil.ML.Images;
using Miil.ML.Onnx;

namespace Miil.ML.Cli.Tests.Tool;

/// <summary>
/// The installed tool end to end on the built-in data with tiny settings: train, predict, evaluate, tune-thresholds,
/// export, serve with Open Inference Protocol requests, the generated console project, Ctrl+C and --resume, and
/// bad input with its one-line error and exit code.
/// </summary>
[TestClass]
[TestCategory("Packaging")]
public sealed class ToolTests
{
    private static string s_work = "";
    private static string s_manifest = "";
    private static string s_model = "";
    private static MiilTool.Run? s_train;

    /// <summary>The tiny run every test starts from: 60 images of 3 classes at 32 px, a quarter-width TResNet, two epochs.</summary>
    private static readonly string[] TinyTraining =
        ["-m", "tresnet:1,1,1,1x0.25", "--image-size", "32", "--epochs", "2", "--batch-size", "16", "--lr", "0.002", "--ema-decay", "0.9", "--augment", "flip", "--precision", "float32"];

    [ClassInitialize]
    public static void InstallAndTrain(TestContext _)
    {
        MiilTool.PackAndInstall();
        s_work = Directory.CreateTempSubdirectory("miil-cli-work-").FullName;
        s_manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = 60, ClassCount = 3, ImageSize = 32, Seed = 3 }, Path.Combine(s_work, "data"));
        s_model = Path.Combine(s_work, "out");
        s_train = MiilTool.Miil(s_work, ["train", "-d", s_manifest, .. TinyTraining, "-o", s_model, "--name", "Shapes"]);
    }

    [ClassCleanup]
    public static void Remove()
    {
        MiilTool.Remove();
        if (s_work.Length > 0 && Directory.Exists(s_work))
        {
            Directory.Delete(s_work, recursive: true);
        }
    }

    [TestMethod]
    public void TrainWritesEveryOutput()
    {
        Assert.AreEqual(0, s_train!.ExitCode, s_train.ToString());
        foreach (string file in new[] { "model.onnx", "model.zip", "model.safetensors", "report.html", "metrics.json", "train.log", "Shapes.mbconfig",
                     "Shapes.ConsoleApp/Shapes.ConsoleApp.csproj", "Shapes.ConsoleApp/Shapes.consumption.cs", "Shapes.ConsoleApp/Shapes.training.cs", "Shapes.ConsoleApp/Program.cs" })
        {
            Assert.IsTrue(File.Exists(Path.Combine(s_model, file)), $"{file} missing:\n{s_train}");
        }
        StringAssert.Contains(s_train.Output, "Validation mAP");
        using JsonDocument settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_model, "Shapes.mbconfig")));
        Assert.AreEqual(2, settings.RootElement.GetProperty("result").GetProperty("epochs").GetInt32());
        Assert.AreEqual(Path.GetFullPath(s_manifest), settings.RootElement.GetProperty("dataset").GetString());
        using JsonDocument metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_model, "metrics.json")));
        double map = metrics.RootElement.GetProperty("meanAveragePrecision").GetDouble();
        Assert.IsTrue(map is > 0 and <= 1, $"mAP {map}");
        StringAssert.Contains(File.ReadAllText(Path.Combine(s_model, "train.log")), "Epoch 2/2");
    }

    [TestMethod]
    public void ATrainedFolderIsNotOverwrittenWithoutBeingAsked()
    {
        MiilTool.Run again = MiilTool.Miil(s_work, ["train", "-d", s_manifest, .. TinyTraining, "-o", s_model, "--name", "Shapes"]);
        Assert.AreEqual(ExitCodes.Usage, again.ExitCode, again.ToString());
        StringAssert.Contains(again.Errors, "already holds a trained model");
        StringAssert.Contains(again.Errors, "--overwrite");
    }

    [TestMethod]
    public void PredictEvaluateTuneAndExportUseTheModel()
    {
        string[] images = File.ReadLines(s_manifest).Skip(1).Take(3).Select(l => Path.Combine(Path.GetDirectoryName(s_manifest)!, l.Split(',')[0])).ToArray();
        MiilTool.Run predict = MiilTool.Miil(s_work, ["predict", "-m", s_model, .. images, "--top-k", "2", "--json"]);
        Assert.AreEqual(0, predict.ExitCode, predict.ToString());
        using (JsonDocument predictions = JsonDocument.Parse(predict.Output))
        {
            Assert.AreEqual(3, predictions.RootElement.GetArrayLength());
            Assert.AreEqual(2, predictions.RootElement[0].GetProperty("labels").GetArrayLength(), "--top-k 2");
        }
        MiilTool.Run csv = MiilTool.Miil(s_work, ["predict", "-m", Path.Combine(s_model, "model.onnx"), Path.Combine(s_work, "data"), "--format", "csv"]);
        Assert.AreEqual(0, csv.ExitCode, csv.ToString());
        Assert.AreEqual(61, csv.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, "a header and one line per image of the folder");

        MiilTool.Run evaluate = MiilTool.Miil(s_work, ["evaluate", "-m", s_model, "-d", s_manifest, "-o", Path.Combine(s_work, "eval"), "--json"]);
        Assert.AreEqual(0, evaluate.ExitCode, evaluate.ToString());
        using (JsonDocument metrics = JsonDocument.Parse(evaluate.Output))
        {
            Assert.AreEqual(60, metrics.RootElement.GetProperty("sampleCount").GetInt32());
        }
        Assert.IsTrue(File.Exists(Path.Combine(s_work, "eval", "report.html")));

        string tuned = Path.Combine(s_work, "tuned.zip");
        MiilTool.Run tune = MiilTool.Miil(s_work, ["tune-thresholds", "-m", s_model, "-d", s_manifest, "-o", tuned, "--json"]);
        Assert.AreEqual(0, tune.ExitCode, tune.ToString());
        using (JsonDocument result = JsonDocument.Parse(tune.Output))
        {
            float[] thresholds = result.RootElement.GetProperty("thresholds").EnumerateArray().Select(t => t.GetSingle()).ToArray();
            var ml = new MLContext(0);
            using var scorer = ml.MultiLabel().LoadModel(tuned);
            CollectionAssert.AreEqual(thresholds, scorer.Model.Thresholds.ToArray(), "the written model decides with the tuned thresholds");
        }

        string half = Path.Combine(s_work, "model16.onnx");
        MiilTool.Run export = MiilTool.Miil(s_work, ["export", "-m", s_model, "--precision", "float16", "-o", half]);
        Assert.AreEqual(0, export.ExitCode, export.ToString());
        Assert.IsLessThan(new FileInfo(Path.Combine(s_model, "model.onnx")).Length * 0.7, new FileInfo(half).Length, "float16 weights");
        MiilTool.Run triton = MiilTool.Miil(s_work, ["export", "-m", s_model, "--triton", Path.Combine(s_work, "triton"), "--triton-name", "shapes"]);
        Assert.AreEqual(0, triton.ExitCode, triton.ToString());
        Assert.IsTrue(File.Exists(Path.Combine(s_work, "triton", "shapes", "config.pbtxt")), triton.ToString());
    }

    [TestMethod]
    public async Task ServeAnswersTheOpenInferenceProtocol()
    {
        using Process server = MiilTool.Start(s_work, ["serve", "-m", s_model, "--urls", "http://127.0.0.1:0", "--model-name", "shapes"], out StringBuilder output, out StringBuilder errors);
        try
        {
            string address = await ListeningAddress(server, output, errors);
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            Assert.AreEqual(HttpStatusCode.OK, (await http.GetAsync("/v2/health/live")).StatusCode);
            Assert.IsTrue((await http.GetFromJsonAsync<JsonElement>("/v2/health/ready")).GetProperty("ready").GetBoolean());
            Assert.IsTrue((await http.GetFromJsonAsync<JsonElement>("/v2/models/shapes/ready")).GetProperty("ready").GetBoolean());
            JsonElement metadata = await http.GetFromJsonAsync<JsonElement>("/v2/models/shapes");
            Assert.AreEqual("shapes", metadata.GetProperty("name").GetString());

            // The spec's request shape: BYTES, one base64 image file per element.
            string[] images = File.ReadLines(s_manifest).Skip(1).Take(2).Select(l => Path.Combine(Path.GetDirectoryName(s_manifest)!, l.Split(',')[0])).ToArray();
            byte[][] files = images.Select(File.ReadAllBytes).ToArray();
            string bytesRequest = $$"""
                { "id" : "1", "inputs" : [ { "name" : "image", "shape" : [ 2 ], "datatype" : "BYTES", "data" : [ "{{Convert.ToBase64String(files[0])}}", "{{Convert.ToBase64String(files[1])}}" ] } ] }
                """;
            HttpResponseMessage response = await http.PostAsync("/v2/models/shapes/infer", new StringContent(bytesRequest, Encoding.UTF8, "application/json"));
            string text = await response.Content.ReadAsStringAsync();
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, text);
            using JsonDocument answer = JsonDocument.Parse(text);
            Assert.AreEqual("1", answer.RootElement.GetProperty("id").GetString());
            JsonElement score = answer.RootElement.GetProperty("outputs").EnumerateArray().First(o => o.GetProperty("name").GetString() == "Score");
            CollectionAssert.AreEqual(new long[] { 2, 3 }, score.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray());
            float[] byImage = score.GetProperty("data").EnumerateArray().Select(d => d.GetSingle()).ToArray();

            // The same images preprocessed by the caller as the model's record says, sent as the FP32 tensor: the same scores.
            var ml = new MLContext(0);
            MultiLabelOnnxModel model = MultiLabelOnnxModel.Read(File.ReadAllBytes(Path.Combine(s_model, "model.onnx")), "model.onnx");
            var preprocessor = new ImagePreprocessor(ml, model.Preprocessing);
            float[] pixels = new float[2 * preprocessor.Length];
            preprocessor.Fill(files[0], pixels.AsSpan(0, preprocessor.Length));
            preprocessor.Fill(files[1], pixels.AsSpan(preprocessor.Length));
            int s = model.ImageSize;
            var tensorRequest = new { inputs = new[] { new { name = "input", shape = new[] { 2, 3, s, s }, datatype = "FP32", data = pixels } }, outputs = new[] { new { name = "Score" } } };
            HttpResponseMessage tensorResponse = await http.PostAsJsonAsync("/v2/models/shapes/versions/1/infer", tensorRequest);
            string tensorText = await tensorResponse.Content.ReadAsStringAsync();
            Assert.AreEqual(HttpStatusCode.OK, tensorResponse.StatusCode, tensorText);
            using JsonDocument tensorAnswer = JsonDocument.Parse(tensorText);
            JsonElement[] outputs = tensorAnswer.RootElement.GetProperty("outputs").EnumerateArray().ToArray();
            Assert.HasCount(1, outputs, "only the output asked for");
            float[] byTensor = outputs[0].GetProperty("data").EnumerateArray().Select(d => d.GetSingle()).ToArray();
            // One ONNX Runtime graph on the same floats, batched differently: float32 rounding of the reductions at most.
            Assert.AreEqual(0, byImage.Zip(byTensor).Max(p => Math.Abs(p.First - p.Second)), 1e-5);

            HttpResponseMessage unknown = await http.PostAsync("/v2/models/cats/infer", new StringContent(bytesRequest, Encoding.UTF8, "application/json"));
            Assert.AreEqual(HttpStatusCode.NotFound, unknown.StatusCode);
            StringAssert.Contains((await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString(), "Unknown model 'cats'");
            HttpResponseMessage bad = await http.PostAsync("/v2/models/shapes/infer", new StringContent("""{ "inputs" : [ { "name" : "image", "shape" : [1], "datatype" : "BYTES", "data" : ["aGVsbG8="] } ] }""", Encoding.UTF8, "application/json"));
            Assert.AreEqual(HttpStatusCode.BadRequest, bad.StatusCode, "not an image");
            Assert.IsTrue((await bad.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("error", out _));
        }
        finally
        {
            MiilTool.Interrupt(server);
            if (!server.WaitForExit(60_000))
            {
                server.Kill(entireProcessTree: true);
                Assert.Fail("serve did not stop on Ctrl+C");
            }
        }
        Assert.AreEqual(0, server.ExitCode, $"{output}\n{errors}");
    }

    private static async Task<string> ListeningAddress(Process server, StringBuilder output, StringBuilder errors)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            lock (output)
            {
                string text = output.ToString();
                int at = text.IndexOf(" on http://", StringComparison.Ordinal);
                if (at >= 0)
                {
                    return text[(at + 4)..].Split([',', '\n', '\r'])[0].Trim();
                }
            }
            Assert.IsFalse(server.HasExited, $"serve exited {(server.HasExited ? server.ExitCode : 0)}:\n{output}\n{errors}");
            await Task.Delay(200);
        }
        Assert.Fail($"serve printed no address:\n{output}\n{errors}");
        return "";
    }

    [TestMethod]
    public void TheGeneratedConsoleAppBuildsAndPredicts()
    {
        string app = Path.Combine(s_model, "Shapes.ConsoleApp");
        MiilTool.DotNet(app, "build", "-c", "Release", $"-p:RestoreAdditionalProjectSources={MiilTool.Feed}");
        string image = Path.Combine(Path.GetDirectoryName(s_manifest)!, File.ReadLines(s_manifest).Skip(1).First().Split(',')[0]);
        string run = MiilTool.DotNet(app, "run", "-c", "Release", "--no-build", "--", image);
        StringAssert.Contains(run, Path.GetFileName(image) + ": predicted [");
        StringAssert.Contains(run, "top 3:");
    }

    [TestMethod]
    public void CtrlCLeavesACheckpointThatResumeFinishes()
    {
        string output = Path.Combine(s_work, "stopped");
        string[] Args(int epochs) => ["train", "-d", s_manifest, "-m", "tresnet:1,1,1,1x0.25", "--image-size", "32", "--epochs", $"{epochs}", "--batch-size", "8",
            "--checkpoint-every", "1", "--precision", "float32", "--augment", "flip", "-o", output];
        using Process training = MiilTool.Start(s_work, Args(30), out StringBuilder stdout, out StringBuilder stderr);
        string checkpoint = Path.Combine(output, "checkpoints", "training.safetensors");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(checkpoint) && !training.HasExited && clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            Thread.Sleep(100);
        }
        Assert.IsFalse(training.HasExited, $"training ended before it was interrupted:\n{stdout}\n{stderr}");
        MiilTool.Interrupt(training);
        Assert.IsTrue(training.WaitForExit(120_000), "Ctrl+C stopped training");
        lock (stdout)
        {
            Assert.AreEqual(ExitCodes.Canceled, training.ExitCode, $"{stdout}\n{stderr}");
            StringAssert.Contains(stderr.ToString(), "--resume");
        }
        Assert.IsTrue(File.Exists(checkpoint));
        Assert.IsFalse(File.Exists(Path.Combine(output, "model.zip")), "no model from a stopped run");

        MiilTool.Run resumed = MiilTool.Miil(s_work, [.. Args(3), "--resume"]);
        // A different schedule is another run: the checkpoint says so and is left alone.
        Assert.AreEqual(ExitCodes.Input, resumed.ExitCode, resumed.ToString());
        StringAssert.Contains(resumed.Errors, "belongs to another run");

        MiilTool.Run finished = MiilTool.Miil(s_work, [.. Args(30), "--resume"]);
        Assert.AreEqual(0, finished.ExitCode, finished.ToString());
        StringAssert.Contains(File.ReadAllText(Path.Combine(output, "train.log")), "Resuming from");
        Assert.IsTrue(File.Exists(Path.Combine(output, "model.zip")));
    }

    [TestMethod]
    [DataRow(new[] { "train", "-d", "missing.csv" }, ExitCodes.Input, "missing.csv' does not exist")]
    [DataRow(new[] { "train", "-d", "{manifest}", "--label-col", "tags" }, ExitCodes.Input, "tags")]
    [DataRow(new[] { "train", "-d", "{manifest}", "-m", "tresnet-q" }, ExitCodes.Input, "--model 'tresnet-q'")]
    [DataRow(new[] { "predict", "-m", "{model}", "{broken}" }, ExitCodes.Input, "broken.png")]
    [DataRow(new[] { "evaluate", "-m", "nowhere/model.zip", "-d", "{manifest}" }, ExitCodes.Input, "--model 'nowhere/model.zip' does not exist")]
    [DataRow(new[] { "train", "--dataset", "{manifest}", "--epochz", "3" }, ExitCodes.Usage, "--epochz")]
    [DataRow(new[] { "download", "not-a-model", "--offline" }, ExitCodes.Input, "not-a-model")]
    public void BadInputGivesOneLineAndItsExitCode(string[] args, int code, string expected)
    {
        string broken = Path.Combine(s_work, "broken.png");
        File.WriteAllBytes(broken, Encoding.ASCII.GetBytes("not a png"));
        string[] resolved = args.Select(a => a.Replace("{manifest}", s_manifest).Replace("{model}", s_model).Replace("{broken}", broken)).ToArray();
        MiilTool.Run run = MiilTool.Miil(s_work, resolved);
        Assert.AreEqual(code, run.ExitCode, run.ToString());
        string[] lines = run.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.IsNotEmpty(lines, run.ToString());
        StringAssert.StartsWith(lines[0], "miil", run.ToString());
        StringAssert.Contains(lines[0], expected, run.ToString());
        Assert.IsFalse(run.Errors.Contains("   at ", StringComparison.Ordinal), $"no stack trace without --verbosity diag:\n{run}");
        Assert.IsLessThanOrEqualTo(2, lines.Length, $"one line (and for a usage error, where to look):\n{run}");
    }

    [TestMethod]
    public void EveryCommandHasHelpWithExamples()
    {
        foreach (string command in new[] { "train", "evaluate", "tune-thresholds", "predict", "export", "models", "download", "doctor", "quickstart", "serve" })
        {
            MiilTool.Run help = MiilTool.Miil(s_work, command, "--help");
            Assert.AreEqual(0, help.ExitCode, help.ToString());
            StringAssert.Contains(help.Output, "Examples:", command);
            StringAssert.Contains(help.Output, $"miil {command}", command);
        }
        MiilTool.Run models = MiilTool.Miil(s_work, "models", "--json", "--cache-dir", Path.Combine(s_work, "empty-cache"));
        Assert.AreEqual(0, models.ExitCode, models.ToString());
        using JsonDocument list = JsonDocument.Parse(models.Output);
        Assert.IsTrue(list.RootElement.EnumerateArray().Any(m => m.GetProperty("status").GetString() == "not cached"), models.Output);
    }
}
