using System.Runtime.Intrinsics;
using Miil.ML.TorchSharp.Losses;

namespace Miil.ML.TorchSharp.Tests.Losses;

/// <summary>The implementations of the multi-label ASL this processor can run.</summary>
internal static class LossPaths
{
    public static IReadOnlyList<AsymmetricLossPath> All { get; } = new[]
    {
        AsymmetricLossPath.Auto,
        Vector512.IsHardwareAccelerated ? AsymmetricLossPath.Simd512 : AsymmetricLossPath.Auto,
        System.Numerics.Vector.IsHardwareAccelerated ? AsymmetricLossPath.SimdNative : AsymmetricLossPath.Auto,
        AsymmetricLossPath.Scalar,
        AsymmetricLossPath.TensorOps,
    }.Distinct().ToArray();

    /// <summary>The CPU kernel's implementations (everything but the tensor operations).</summary>
    public static IEnumerable<AsymmetricLossPath> Kernels => All.Where(p => p != AsymmetricLossPath.TensorOps && p != AsymmetricLossPath.Auto);
}
