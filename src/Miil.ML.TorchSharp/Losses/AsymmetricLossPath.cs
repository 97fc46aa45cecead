namespace Miil.ML.TorchSharp.Losses;

/// <summary>Which implementation of the multi-label ASL runs; tests run every one against the reference.</summary>
internal enum AsymmetricLossPath
{
    /// <summary>CPU tensors: the widest SIMD the processor has; other devices: tensor operations.</summary>
    Auto,

    /// <summary>The CPU kernel on 512-bit vectors (AVX-512).</summary>
    Simd512,

    /// <summary>The CPU kernel on <see cref="System.Numerics.Vector{T}"/> (AVX2: 256 bits).</summary>
    SimdNative,

    /// <summary>The CPU kernel, one element at a time.</summary>
    Scalar,

    /// <summary>The formulas as tensor operations (the path for CUDA tensors).</summary>
    TensorOps,
}
