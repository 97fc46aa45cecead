using TorchSharp;

namespace Miil.ML.TorchSharp.Numerics;

/// <summary>
/// Scalars that outlive the native calls they are passed to. TorchSharp's implicit conversions
/// (<c>t + u</c> passes a temporary Scalar 1 as alpha; <c>t.mul_(0.9)</c> a temporary 0.9) read the
/// Scalar's handle and then hold no reference to it, so a garbage collection during the native call
/// can finalize and free it mid-operation; libtorch then reads freed memory (seen here as "Expected
/// false to be true" from Scalar::toFloat, at random, once decoding threads made collections frequent).
/// Hot paths therefore pass a Scalar held by a static field, or one kept alive by a <c>using</c>.
/// </summary>
internal static class Scalars
{
    /// <summary>1, alive for the life of the process.</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>-1 (the ignored label), alive for the life of the process.</summary>
    public static readonly Scalar MinusOne = (-1).ToScalar();
}
