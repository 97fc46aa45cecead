// ScoringService: a Miil.ML multi-label model behind HTTP, micro-batched.
// POST /predict (an image as the body, or multipart), POST /predict/batch (multipart, several images),
// GET /health, GET /metrics (Prometheus), GET /openapi/v1.json. --doctor examines the GPU setup and exits.
// Configured the ASP.NET Core way:
// appsettings.json, environment (Scoring__ModelPath=...), command line (--Scoring:ModelPath=...).
using Microsoft.AspNetCore.Http.Features;
using Microsoft.ML;
using Miil.ML;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Serving;
using ScoringService;

if (args.Contains("--doctor"))
{
    // Why the service would (not) score on the GPU here; exits non-zero when the parity check fails.
    Miil.ML.Onnx.Diagnostics.DoctorReport doctor = new MLContext().MultiLabel().Doctor();
    Console.WriteLine(doctor);
    return doctor.ParityPassed ? 0 : 1;
}

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
var settings = builder.Configuration.GetSection("Scoring").Get<ServiceSettings>() ?? new ServiceSettings();
MultiLabelScoringOptions options;
try
{
    options = settings.ToOptions();
    options.Validate();
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"ScoringService: bad configuration: {e.Message}");
    return 2;
}
// A batch request may carry MaxBatchImages images: Kestrel refuses (413) anything larger before it is read.
builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = settings.MaxImageBytes * settings.MaxBatchImages + (1 << 20));
builder.Services.AddSingleton(new MLContext());
builder.Services.AddMultiLabelScoring(options);
builder.Services.AddSingleton<Metrics>();
builder.Services.AddOpenApi();

WebApplication app = builder.Build();
MultiLabelScoringService service;
try
{
    service = app.Services.GetRequiredService<MultiLabelScoringService>();  // load now: a bad model stops the start, not the first request
}
catch (Exception e) when (e is FileNotFoundException or InvalidOperationException)
{
    Console.Error.WriteLine($"ScoringService: cannot load the model: {e.Message}");
    return 1;
}
Console.WriteLine($"Model '{options.ModelPath}': {service.Model.ClassNames.Count} classes at {service.Model.ImageSize} px on {service.Device}; "
    + $"micro-batching {(options.MaxBatchSize > 1 ? $"up to {options.MaxBatchSize} images or {options.MaxDelay.TotalMilliseconds} ms" : "off")}.");
app.MapOpenApi();

app.MapPost("/predict", async (HttpRequest request, Metrics metrics, CancellationToken cancel) =>
{
    IResult result = await Predict(request, cancel);
    metrics.Count("/predict", (result as IStatusCodeHttpResult)?.StatusCode ?? 200);
    return result;
})
.WithSummary("Scores one image")
.WithDescription("The image is the request body (any image content type) or the first file of a multipart form. Returns the labels above their thresholds, highest first, and every class's score.")
// Any content type reaches the handler, which answers 400 with a reason rather than routing's bare 415.
.Accepts<IFormFile>(isOptional: true, "image/png", "image/jpeg", "application/octet-stream", "multipart/form-data", "*/*")
.Produces<PredictionResponse>()
.ProducesProblem(400).ProducesProblem(413).ProducesProblem(503);

app.MapPost("/predict/batch", async (HttpRequest request, Metrics metrics, CancellationToken cancel) =>
{
    IResult result = await PredictBatch(request, cancel);
    metrics.Count("/predict/batch", (result as IStatusCodeHttpResult)?.StatusCode ?? 200);
    return result;
})
.WithSummary("Scores several images")
.WithDescription("A multipart form with one file per image (at most Scoring:MaxBatchImages). Returns one prediction per file, in order; a file that is not a readable image fails the request with 400, naming it.")
.Accepts<IFormFileCollection>(isOptional: true, "multipart/form-data", "*/*")
.Produces<BatchItem[]>()
.ProducesProblem(400).ProducesProblem(413).ProducesProblem(503);

app.MapGet("/health", () => Results.Json(new HealthResponse("ok", options.ModelPath, service.Model.ClassNames.Count, service.Model.ImageSize, service.Device.ToString(), service.Reloads)))
    .WithSummary("Whether the service scores, with which model");
app.MapGet("/metrics", (Metrics metrics) => Results.Text(metrics.Prometheus(service), "text/plain; version=0.0.4"))
    .WithSummary("Requests, errors, batch sizes and latency, in Prometheus' text format");

app.Run();
return 0;

async Task<IResult> Predict(HttpRequest request, CancellationToken cancel)
{
    (byte[]? image, string name, IResult? refusal) = await ReadOne(request, cancel);
    if (refusal is not null)
    {
        return refusal;
    }
    (PredictionResponse? prediction, IResult? error) = await Score(image!, name, cancel);
    return error ?? Results.Json(prediction);
}

async Task<IResult> PredictBatch(HttpRequest request, CancellationToken cancel)
{
    if (!request.HasFormContentType)
    {
        return Problem(400, "A batch is a multipart form with one file per image.");
    }
    IFormCollection form;
    try
    {
        form = await request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = settings.MaxImageBytes }, cancel);
    }
    catch (Exception e) when (e is InvalidDataException or BadHttpRequestException)
    {
        return TooLarge(e);
    }
    if (form.Files.Count == 0)
    {
        return Problem(400, "The form holds no file.");
    }
    if (form.Files.Count > settings.MaxBatchImages)
    {
        return Problem(400, $"{form.Files.Count} images in one batch; at most {settings.MaxBatchImages} (Scoring:MaxBatchImages).");
    }
    var images = new List<(string Name, byte[] Bytes)>();
    foreach (IFormFile file in form.Files)
    {
        using var buffer = new MemoryStream();
        await file.CopyToAsync(buffer, cancel);
        images.Add((file.FileName, buffer.ToArray()));
    }
    // All at once: the scorer gathers them (and other clients' requests) into calls.
    var scored = await Task.WhenAll(images.Select(i => Score(i.Bytes, i.Name, cancel)));
    int bad = Array.FindIndex(scored, s => s.Error is not null);
    if (bad >= 0)
    {
        return scored[bad].Error!;
    }
    return Results.Json(scored.Select((s, i) => new BatchItem(images[i].Name, s.Prediction!.Labels, s.Prediction.Scores)).ToArray());
}

async Task<(byte[]? Image, string Name, IResult? Refusal)> ReadOne(HttpRequest request, CancellationToken cancel)
{
    try
    {
        if (request.HasFormContentType)
        {
            IFormCollection form = await request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = settings.MaxImageBytes }, cancel);
            if (form.Files.Count == 0)
            {
                return (null, "", Problem(400, "The form holds no file."));
            }
            using var buffer = new MemoryStream();
            await form.Files[0].CopyToAsync(buffer, cancel);
            return (buffer.ToArray(), form.Files[0].FileName, null);
        }
        if (request.ContentLength > settings.MaxImageBytes)
        {
            return (null, "", TooLarge(null));
        }
        using var body = new MemoryStream();
        byte[] chunk = new byte[81920];
        int n;
        while ((n = await request.Body.ReadAsync(chunk, cancel)) > 0)
        {
            if (body.Length + n > settings.MaxImageBytes)
            {
                return (null, "", TooLarge(null));
            }
            body.Write(chunk, 0, n);
        }
        return body.Length == 0 ? (null, "", Problem(400, "The request has no body: send the image as the body or as a multipart file.")) : (body.ToArray(), "the uploaded image", null);
    }
    catch (Exception e) when (e is InvalidDataException or BadHttpRequestException)
    {
        return (null, "", TooLarge(e));
    }
}

async Task<(PredictionResponse? Prediction, IResult? Error)> Score(byte[] image, string name, CancellationToken cancel)
{
    try
    {
        MultiLabelPrediction p = await service.ScoreAsync(image, name, cancel);
        return (new PredictionResponse(p.Labels.Select(l => new LabelScore(l.Label, l.Score)).ToArray(),
            p.ClassNames.Select((c, k) => (c, k)).ToDictionary(x => x.c, x => p.Scores[x.k])), null);
    }
    catch (ScoringQueueFullException e)
    {
        return (null, Problem(503, e.Message));
    }
    catch (InvalidOperationException e)
    {
        return (null, Problem(400, e.Message));  // not an image, truncated, too many pixels: the caller's input
    }
}

IResult TooLarge(Exception? e) => Problem(413, $"An image may be at most {settings.MaxImageBytes} bytes (Scoring:MaxImageBytes)." + (e is null ? "" : $" ({e.Message})"));

static IResult Problem(int status, string detail) => Results.Problem(detail: detail, statusCode: status);

namespace ScoringService
{
    /// <summary>A label above its threshold.</summary>
    public sealed record LabelScore(string Label, float Score);

    /// <summary>One image's prediction: the labels above their thresholds, highest first, and every class's score.</summary>
    public sealed record PredictionResponse(LabelScore[] Labels, Dictionary<string, float> Scores);

    /// <summary>One file of a batch.</summary>
    public sealed record BatchItem(string File, IReadOnlyList<LabelScore> Labels, Dictionary<string, float> Scores);

    /// <summary>The service's state.</summary>
    public sealed record HealthResponse(string Status, string Model, int Classes, int ImageSize, string Device, long Reloads);
}
