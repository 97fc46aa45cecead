namespace Miil.ML.TorchSharp.Training;

/// <summary>How weight decay enters the Adam update.</summary>
public enum WeightDecayKind
{
    /// <summary>Added to the gradient before the moments (PyTorch <c>Adam(weight_decay=...)</c>), as the reference.</summary>
    CoupledL2,

    /// <summary>Decoupled from the moments: weights shrink by lr x decay each step (AdamW).</summary>
    Decoupled,
}
