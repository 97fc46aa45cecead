using System.CommandLine;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.ML;
using Miil.ML.Cli.Commands;
using Miil.ML.Onnx.Serving;

namespace Miil.ML.Cli.Serving;

/// <summary>
/// <c>miil serve</c>: a model behind HTTP with micro-batching (concurrent requests share ONNX Runtime calls): the
/// Open Inference Protocol v2 that Triton and KServe clients speak (<see cref="InferenceProtocol"/>), and
/// <c>POST /predict</c> for an image as the request body.
/// </summary>
internal static class ServeCommand
{
    private static readonly Option<string> Model = TrainedModel.Option();
    private static readonly Option<string> ModelName = new("--model-name") { Description = "The model's name in the protocol's paths (/v2/models/NAME)", DefaultValueFactory = _ => "multilabel" };
    private static readonly Option<string> Urls = new("--urls") { Description = "Where to listen (port 0: any free port, printed at start)", DefaultValueFactory = _ => "http://localhost:8080" };
    private static readonly Option<int> MaxBatch = new("--max-batch-size") { Description = "Images per ONNX Runtime call (1 turns micro-batching off)", DefaultValueFactory = _ => 16 };
    private static readonly Option<double> MaxDelay = new("--max-delay-ms") { Description = "How long a batch waits for more images", DefaultValueFactory = _ => 2 };
    private static readonly Option<int> MaxQueue = new("--max-queue") { Description = "Images waiting at most (beyond: 503)", DefaultValueFactory = _ => 1024 };
    private static readonly Option<int> MaxRequestImages = new("--max-request-images") { Description = "Images in one request at most", DefaultValueFactory = _ => 64 };
    private static readonly Option<int> MaxRequestMegabytes = new("--max-request-mb") { Description = "Request body size limit in MiB", DefaultValueFactory = _ => 64 };
    private static readonly Option<int?> Gpu = new("--gpu") { Description = "CUDA device to score on (falls back to the CPU where CUDA cannot run)" };

    public static Command Create()
    {
        var command = new Command("serve", "Serve a trained model over HTTP: the Open Inference Protocol v2 (GET /v2/health/live, /v2/health/ready, /v2/models/NAME, "
            + "/v2/models/NAME/ready; POST /v2/models/NAME/infer) and POST /predict with an image as the body. Concurrent requests are micro-batched. Ctrl+C stops it.\n\n"
            + "Examples:\n  miil serve -m out/model.zip\n  miil serve -m out --urls http://0.0.0.0:8080 --model-name photos --max-batch-size 32");
        foreach (Option option in new Option[] { Model, ModelName, Urls, MaxBatch, MaxDelay, MaxQueue, MaxRequestImages, MaxRequestMegabytes, Gpu })
        {
            command.Add(option);
        }
        command.SetAction(MiilCommand.Action(async (parsed, terminal, cancel) =>
        {
            string path = TrainedModel.Path(parsed.GetValue(Model)!);
            string name = parsed.GetValue(ModelName)!;
            int maxItems = parsed.GetValue(MaxRequestImages);
            var options = new MultiLabelScoringOptions
            {
                ModelPath = path,
                MaxBatchSize = parsed.GetValue(MaxBatch),
                MaxDelay = TimeSpan.FromMilliseconds(parsed.GetValue(MaxDelay)),
                MaxQueueLength = parsed.GetValue(MaxQueue),
                GpuDeviceId = parsed.GetValue(Gpu),
                ReloadOnChange = true,
            };
            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                throw new CliException(e.Message);
            }
            await using var service = new MultiLabelScoringService(options, new MLContext());

            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls(parsed.GetValue(Urls)!);
            builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = (long)parsed.GetValue(MaxRequestMegabytes) << 20);
            builder.Logging.SetMinimumLevel(terminal.Verbosity >= Output.Verbosity.Detailed ? LogLevel.Information : LogLevel.Warning);
            await using WebApplication app = builder.Build();
            Map(app, service, name, maxItems);
            await app.StartAsync(cancel).ConfigureAwait(false);
            string addresses = string.Join(", ", app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []);
            terminal.Result($"Serving '{path}' as '{name}' ({service.Model.ClassNames.Count} classes, {service.Model.ImageSize} px, {service.Device}) on {addresses}");
            terminal.Info($"Open Inference Protocol v2: POST {addresses.Split(", ")[0]}/v2/models/{name}/infer; Ctrl+C stops.");
            try
            {
                await Task.Delay(Timeout.Infinite, cancel).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                terminal.Info("Stopping.");
            }
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static void Map(WebApplication app, MultiLabelScoringService service, string name, int maxItems)
    {
        app.MapGet("/v2", () => Results.Json(InferenceProtocol.ServerMetadata()));
        app.MapGet("/v2/health/live", () => Results.Json(new { live = true }));
        app.MapGet("/v2/health/ready", () => Results.Json(new { ready = true }));
        app.MapGet("/v2/models/{model}", (string model) => Known(model, name) ?? Results.Json(InferenceProtocol.ModelMetadata(name, service.Model)));
        app.MapGet("/v2/models/{model}/versions/{version}", (string model, string version) => Known(model, name, version) ?? Results.Json(InferenceProtocol.ModelMetadata(name, service.Model)));
        app.MapGet("/v2/models/{model}/ready", (string model) => Known(model, name) ?? Results.Json(new { name, ready = true }));
        app.MapGet("/v2/models/{model}/versions/{version}/ready", (string model, string version) => Known(model, name, version) ?? Results.Json(new { name, ready = true }));
        app.MapPost("/v2/models/{model}/infer", (string model, HttpRequest request, CancellationToken cancel)
            => Infer(model, null, request, service, name, maxItems, cancel));
        app.MapPost("/v2/models/{model}/versions/{version}/infer", (string model, string version, HttpRequest request, CancellationToken cancel)
            => Infer(model, version, request, service, name, maxItems, cancel));
        app.MapPost("/predict", async (HttpRequest request, CancellationToken cancel) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body, cancel).ConfigureAwait(false);
            if (body.Length == 0)
            {
                return Error(400, "The request has no body: send the image file as the body.");
            }
            try
            {
                MultiLabelPrediction p = await service.ScoreAsync(body.ToArray(), "the uploaded image", cancel).ConfigureAwait(false);
                return Results.Json(new
                {
                    labels = p.Labels.Select(l => new { label = l.Label, score = l.Score }),
                    scores = p.ClassNames.Select((c, k) => (c, k)).ToDictionary(x => x.c, x => p.Scores[x.k]),
                });
            }
            catch (ScoringQueueFullException e)
            {
                return Error(503, e.Message);
            }
            catch (InvalidOperationException e)
            {
                return Error(400, e.Message);
            }
        });
    }

    private static IResult? Known(string model, string name, string? version = null)
        => model != name ? Error(404, $"Unknown model '{model}'; this server serves '{name}'.")
            : version is not null && version != InferenceProtocol.Version ? Error(404, $"Unknown version '{version}' of '{name}'; it has version {InferenceProtocol.Version}.")
            : null;

    private static async Task<IResult> Infer(string model, string? version, HttpRequest request, MultiLabelScoringService service, string name, int maxItems, CancellationToken cancel)
    {
        if (Known(model, name, version) is IResult unknown)
        {
            return unknown;
        }
        InferenceProtocol.Request parsed;
        try
        {
            using JsonDocument body = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancel).ConfigureAwait(false);
            parsed = InferenceProtocol.Parse(body.RootElement, service.Model, maxItems);
        }
        catch (JsonException e)
        {
            return Error(400, $"The request body is not JSON: {e.Message}");
        }
        catch (InferenceProtocol.BadRequest e)
        {
            return Error(400, e.Message);
        }
        catch (BadHttpRequestException e)
        {
            return Error(e.StatusCode, e.Message);
        }
        try
        {
            // Every item at once: the micro-batcher gathers them (and other clients' requests) into calls.
            MultiLabelPrediction[] predictions = await Task.WhenAll(parsed.Items.Select(item => item.Image is byte[] image
                ? service.ScoreAsync(image, item.Name, cancel)
                : service.ScorePixelsAsync(item.Pixels!, cancel))).ConfigureAwait(false);
            return Results.Json(InferenceProtocol.Response(name, parsed, predictions));
        }
        catch (ScoringQueueFullException e)
        {
            return Error(503, e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return Error(400, e.Message);  // an unreadable image, a tensor of the wrong size: the caller's input
        }
    }

    /// <summary>The protocol's error object.</summary>
    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);
}
