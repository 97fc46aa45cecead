using Miil.ML.TorchSharp.Models.TResNet;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// Options of <c>mlContext.MultiLabel().TResNetAsl(...)</c>: the network and its starting weights, on top
/// of what every trainer shares (<see cref="MultiLabelTrainerOptions"/>: columns, loss, schedule,
/// augmentation, validation, thresholds, checkpoints).
/// </summary>
public sealed class TResNetAslOptions : MultiLabelTrainerOptions
{
    /// <summary>The network. Default <see cref="TResNetArchitecture.M"/>.</summary>
    public TResNetArchitecture Architecture { get; set; } = TResNetArchitecture.M;

    /// <summary>
    /// A checkpoint to start from (MIIL or timm layout, .pth or .safetensors, or this library's own);
    /// its architecture must match <see cref="Architecture"/>, and a head of another class count is
    /// replaced. Null trains from random initialisation.
    /// </summary>
    public string? PretrainedWeights { get; set; }

    internal override string TrainerName => "TResNetAsl";

    internal override void Validate()
    {
        ArgumentNullException.ThrowIfNull(Architecture, nameof(Architecture));
        base.Validate();
    }
}
