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
    /// The weights to start from: a published model by name (<see cref="Pretrained.PretrainedModels"/>,
    /// e.g. <c>tresnet_m.miil_in21k</c>), a hub repository (<c>hf-hub:org/name[@revision]</c>), an
    /// address, or a local checkpoint (MIIL or timm layout, .pth or .safetensors, or this library's own).
    /// Downloads go into the Hugging Face cache (<see cref="Hub"/>). The architecture must match
    /// <see cref="Architecture"/>; a head of another class count is replaced by a fresh one. Null
    /// trains from random initialisation.
    /// </summary>
    public string? PretrainedWeights { get; set; }

    /// <summary>Endpoint, cache, token and offline mode of downloads; null (default) for the environment's (<c>HF_ENDPOINT</c>, <c>HF_HUB_CACHE</c>, <c>HF_TOKEN</c>, <c>HF_HUB_OFFLINE</c>).</summary>
    public Miil.ML.Hub.HubOptions? Hub { get; set; }

    /// <summary>Receives the progress of a download of <see cref="PretrainedWeights"/> (bytes, total, rate).</summary>
    public IProgress<Miil.ML.Hub.HubDownloadProgress>? DownloadProgress { get; set; }

    internal override string TrainerName => "TResNetAsl";

    internal override void Validate()
    {
        ArgumentNullException.ThrowIfNull(Architecture, nameof(Architecture));
        base.Validate();
    }
}
