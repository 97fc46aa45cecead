using Microsoft.ML;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.TResNet;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// Trains a TResNet with the Asymmetric Loss on an image column and a multi-label column (see
/// <see cref="TResNetAslOptions"/>), and returns a <see cref="TResNetAslTransformer"/> that scores
/// with the selected weights through ONNX Runtime. Created by <c>mlContext.MultiLabel().TResNetAsl(...)</c>.
/// </summary>
public sealed class TResNetAslTrainer : MultiLabelImageTrainer<TResNetAslTransformer>
{
    private readonly MLContext _context;

    internal TResNetAslTrainer(MLContext context, TResNetAslOptions options)
        : base(context, options)
    {
        _context = context;
        Options = options;
    }

    /// <summary>The options.</summary>
    public TResNetAslOptions Options { get; }

    private protected override MultiLabelNetwork CreateNetwork(int classCount) => Create(classCount, ResolveWeights());

    private protected override Func<int, MultiLabelNetwork> PrepareNetwork()
    {
        string? path = ResolveWeights();
        return classCount => Create(classCount, path);
    }

    /// <summary>The local file of <see cref="TResNetAslOptions.PretrainedWeights"/> (downloaded into the cache if need be), checked against the architecture; null for none.</summary>
    private string? ResolveWeights()
    {
        if (Options.PretrainedWeights is not string reference)
        {
            return null;
        }
        // The architecture is checked before anything is downloaded.
        if (Pretrained.PretrainedModels.Find(reference) is { Architecture: { } architecture } entry && architecture != Options.Architecture)
        {
            throw new ArgumentException(
                $"Pretrained weights '{entry.Name}' are a TResNet-{entry.Variant} ({architecture}) but Architecture is {Options.Architecture}: set Architecture = TResNetArchitecture.{entry.Variant}.",
                nameof(TResNetAslOptions.PretrainedWeights));
        }
        using var hub = new Miil.ML.Hub.HubClient(Options.Hub, _context);
        (string path, Pretrained.PretrainedModel? resolved) = Pretrained.PretrainedWeightsSource.Resolve(reference, hub, Options.DownloadProgress);
        if (resolved is not null && resolved.ImageSize != Options.ImageSize)
        {
            ContextLog.Info(_context, Options.TrainerName, $"'{resolved.Name}' was trained at {resolved.ImageSize} px; fine-tuning at {Options.ImageSize} px.");
        }
        return path;
    }

    private TResNet Create(int classCount, string? weights)
    {
        var model = new TResNet(Options.Architecture, classCount);
        if (weights is not null)
        {
            try
            {
                TResNetCheckpointInfo info = TResNetCheckpoint.Load(model, weights);
                ContextLog.Info(_context, Options.TrainerName, $"Pretrained weights from '{Options.PretrainedWeights}' ({weights}; {info.Layout} layout"
                    + (info.HeadReplaced ? $", head of {info.CheckpointNumClasses} classes replaced by a new one of {classCount}" : "") + ").");
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        return model;
    }

    private protected override IEnumerable<KeyValuePair<string, string>> DescribeOptions(TrainingResult result)
    {
        foreach (KeyValuePair<string, string> option in base.DescribeOptions(result))
        {
            yield return option;
        }
        yield return new("pretrained weights", Options.PretrainedWeights ?? "none (random initialisation)");
    }

    private protected override TResNetAslTransformer CreateTransformer(TrainedModel model) => new(model);
}
