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

    private protected override MultiLabelNetwork CreateNetwork(int classCount)
    {
        var model = new TResNet(Options.Architecture, classCount);
        if (Options.PretrainedWeights is string weights)
        {
            try
            {
                TResNetCheckpointInfo info = TResNetCheckpoint.Load(model, weights);
                ContextLog.Info(_context, Options.TrainerName, $"Pretrained weights from '{weights}' ({info.Layout} layout"
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

    private protected override TResNetAslTransformer CreateTransformer(TrainedModel model) => new(model);
}
