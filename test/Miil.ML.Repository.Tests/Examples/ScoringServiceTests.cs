using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML;
using Miil.ML.Datasets;
using Miil.ML.Onnx.Scoring;
using Miil.ML.Repository.Tests.Infrastructure;
using Miil.ML.Testing;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Models.TResNet;

namespace Miil.ML.Repository.Tests.Examples;

/// <summary>
/// examples/ScoringService as a client meets it: started on a loopback port with a tiny exported TResNet,
/// it scores images as the library scores them alone, answers bad requests with 4xx and a reason (and
/// keeps serving), and reports health, metrics and an OpenAPI description.
/// </summary>
[TestClass]
public sealed partial class ScoringServiceTests
{
    [TestMethod]
    public async Task ServesPredictionsRefusesBadRequestsAndReportsItself()
    {
        using var scratch = new ScratchDirectory();
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = 6, ImageSize = 48, ClassCount = 4, Seed = 2 }, scratch.Path);
        string[] images = File.ReadAllLines(manifest).Skip(1).Select(l => Path.Combine(scratch.Path, l.Split(',')[0])).ToArray();
        string onnx = scratch.File("model.onnx");
        using (var network = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), 4))
        {
            network.eval();
            OnnxExporter.Export(network, onnx, new OnnxExportOptions { ImageSize = 32, ClassNames = SyntheticShapes.ClassNames(4), Threshold = 0.4f });
        }

        using Process service = DotNet.Start([ExampleApp.Dll("ScoringService"), "--urls", "http://127.0.0.1:0", "--Scoring:ModelPath=" + onnx,
            "--Scoring:MaxImageBytes=200000", "--Scoring:MaxBatchImages=3", "--Scoring:MaxDelayMilliseconds=5"], out StringBuilder output);
        try
        {
            string address = await ListeningAddress(service, output);
            using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };

            using var alone = new OnnxImageScorer(new MLContext(), File.ReadAllBytes(onnx));
            for (int i = 0; i < 3; i++)
            {
                using HttpResponseMessage ok = await http.PostAsync("/predict", Image(images[i]));
                Assert.AreEqual(HttpStatusCode.OK, ok.StatusCode, await ok.Content.ReadAsStringAsync());
                using JsonDocument json = JsonDocument.Parse(await ok.Content.ReadAsStringAsync());
                float[] expected = alone.Score([images[i]]).Scores;
                string[] classes = SyntheticShapes.ClassNames(4).ToArray();
                for (int k = 0; k < classes.Length; k++)
                {
                    Assert.AreEqual(expected[k], json.RootElement.GetProperty("scores").GetProperty(classes[k]).GetSingle(), $"{classes[k]} of image {i}");
                }
                float[] listed = json.RootElement.GetProperty("labels").EnumerateArray().Select(l => l.GetProperty("score").GetSingle()).ToArray();
                Assert.IsTrue(listed.All(s => s >= 0.4f) && listed.SequenceEqual(listed.OrderDescending()), "labels above the threshold, highest first");
            }

            using var form = new MultipartFormDataContent();
            foreach (string image in images.Take(3))
            {
                form.Add(new ByteArrayContent(File.ReadAllBytes(image)), "images", Path.GetFileName(image));
            }
            using HttpResponseMessage batch = await http.PostAsync("/predict/batch", form);
            Assert.AreEqual(HttpStatusCode.OK, batch.StatusCode, await batch.Content.ReadAsStringAsync());
            Assert.AreEqual(3, JsonDocument.Parse(await batch.Content.ReadAsStringAsync()).RootElement.GetArrayLength());

            // Bad requests: 4xx with a reason, and the service keeps serving.
            byte[] png = File.ReadAllBytes(images[0]);
            await Refused(http, "/predict", new ByteArrayContent([]), HttpStatusCode.BadRequest, "no body");
            await Refused(http, "/predict", new StringContent("hello"), HttpStatusCode.BadRequest, "not a supported image");
            await Refused(http, "/predict", new ByteArrayContent(png[..(png.Length / 2)]), HttpStatusCode.BadRequest, "truncated");
            await Refused(http, "/predict", new ByteArrayContent(Bomb(png)), HttpStatusCode.BadRequest, "refused before decoding");
            await Refused(http, "/predict", new ByteArrayContent(new byte[300_000]), HttpStatusCode.RequestEntityTooLarge, "at most 200000 bytes");
            using var tooMany = new MultipartFormDataContent();
            for (int i = 0; i < 4; i++)
            {
                tooMany.Add(new ByteArrayContent(png), "images", $"{i}.png");
            }
            await Refused(http, "/predict/batch", tooMany, HttpStatusCode.BadRequest, "at most 3");
            using HttpResponseMessage still = await http.PostAsync("/predict", Image(images[1]));
            Assert.AreEqual(HttpStatusCode.OK, still.StatusCode, "still serving");

            using JsonDocument health = JsonDocument.Parse(await http.GetStringAsync("/health"));
            Assert.AreEqual("ok", health.RootElement.GetProperty("status").GetString());
            Assert.AreEqual(4, health.RootElement.GetProperty("classes").GetInt32());
            string metrics = await http.GetStringAsync("/metrics");
            StringAssert.Contains(metrics, "miil_http_responses_total{endpoint=\"/predict\",status=\"200\"} 4");
            StringAssert.Contains(metrics, "miil_http_responses_total{endpoint=\"/predict\",status=\"400\"} 4");
            StringAssert.Contains(metrics, "miil_scoring_latency_seconds{quantile=\"0.99\"}");
            StringAssert.Contains(metrics, "# TYPE miil_scoring_batches_total counter");
            using JsonDocument openApi = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
            Assert.IsTrue(openApi.RootElement.GetProperty("paths").TryGetProperty("/predict", out _), "the OpenAPI description lists /predict");
            Assert.IsFalse(service.HasExited, output.ToString());
        }
        finally
        {
            if (!service.HasExited)
            {
                service.Kill();
            }
            service.WaitForExit();
        }
    }

    private static ByteArrayContent Image(string path)
    {
        var content = new ByteArrayContent(File.ReadAllBytes(path));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return content;
    }

    private static async Task Refused(HttpClient http, string path, HttpContent content, HttpStatusCode status, string reason)
    {
        using (content)
        using (HttpResponseMessage response = await http.PostAsync(path, content))
        {
            string body = await response.Content.ReadAsStringAsync();
            Assert.AreEqual(status, response.StatusCode, body);
            StringAssert.Contains(body, reason);
        }
    }

    /// <summary>A PNG whose header declares 60000 x 60000 pixels (CRC fixed so that only the size is wrong).</summary>
    private static byte[] Bomb(byte[] png) => Testing.PngBytes.DeclaringSize(png, 60000, 60000);

    /// <summary>The address Kestrel reports once it listens (port 0 gives a free one).</summary>
    internal static async Task<string> ListeningAddress(Process service, StringBuilder output)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Testing.ChildDotNet.HangLimit)
        {
            string text;
            lock (output)
            {
                text = output.ToString();
            }
            Match m = Listening().Match(text);
            if (m.Success)
            {
                return m.Groups[1].Value;
            }
            Assert.IsFalse(service.HasExited, $"the service stopped:\n{text}");
            await Task.Delay(50);
        }
        Assert.Fail($"the service did not start listening:\n{output}");
        return "";
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();
}
