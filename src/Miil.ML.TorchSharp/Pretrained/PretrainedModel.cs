using Miil.ML.Images;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.TResNet;

namespace Miil.ML.TorchSharp.Pretrained;

/// <summary>
/// One published set of weights in <see cref="PretrainedModels"/>: what it is (architecture, input size,
/// classes, preprocessing), where it comes from and under which licence.
/// </summary>
public sealed record PretrainedModel
{
    /// <summary>The name its host uses: timm's <c>arch.tag</c>, or the MIIL file's name without <c>.pth</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The variant (TResNet's M, L, XL, V2-L; ResNet-18, ResNet-50), as the host names it.</summary>
    public required string Variant { get; init; }

    /// <summary>The architecture, or null when this library cannot build it (see <see cref="Unsupported"/>).</summary>
    public NetworkArchitecture? Architecture { get; init; }

    /// <summary>Why this library cannot load the weights; null when it can.</summary>
    public string? Unsupported { get; init; }

    /// <summary>The side of the input the weights were trained at.</summary>
    public required int ImageSize { get; init; }

    /// <summary>Outputs of the published head.</summary>
    public required int ClassCount { get; init; }

    /// <summary>Width of the checkpoint's bottleneck head; null for a linear head.</summary>
    public int? BottleneckFeatures { get; init; }

    /// <summary>Class names of a multi-label model (COCO's 80, VOC's 20), in output order; null for ImageNet classifiers, whose names are not shipped here.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>
    /// Whether the head is a multi-label one (sigmoid per class, trained with ASL) that can score directly
    /// (<c>LoadPretrained</c>); ImageNet and Stanford Cars heads are single-label classifiers.
    /// </summary>
    public bool IsMultiLabel { get; init; }

    /// <summary>The head the weights carry: null for the pooling head, or ML-Decoder with its groups and embedding.</summary>
    public ClassifierHead? Head { get; init; }

    /// <summary>The decision threshold of the authors' inference script for a multi-label head (ASL's <c>infer.py</c>: 0.7; ML_Decoder's: 0.75, 0.97 for Open Images).</summary>
    public float Threshold { get; init; } = 0.7f;

    /// <summary>Pixels in, as the weights expect them: TResNet's RGB in [0, 1] without mean or std; ResNet's ImageNet mean and std; ML.NET's BGR 0-255.</summary>
    internal ImagePreprocessing Preprocessing => (Architecture ?? TResNetArchitecture.M).Preprocessing(ImageSize);

    /// <summary>What the weights were trained on, and the figure the host reports.</summary>
    public required string TrainedOn { get; init; }

    /// <summary>The licence the host states.</summary>
    public required string License { get; init; }

    /// <summary>Where the file comes from: <c>hf-hub:org/name</c> or an address.</summary>
    public required string Source { get; init; }

    /// <summary>Candidate files in a hub repository, in order of preference; empty for an address.</summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary>The file's SHA-256 where it is known ahead (a pin); null to rely on the host's own digest.</summary>
    public string? Sha256 { get; init; }
}
