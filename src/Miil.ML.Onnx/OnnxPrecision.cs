namespace Miil.ML.Onnx;

/// <summary>The number format of an exported network's weights and arithmetic (inputs and outputs stay float32, as the contract says).</summary>
public enum OnnxPrecision
{
    /// <summary>float32 throughout (the default): what CPU scoring wants.</summary>
    Float32,

    /// <summary>
    /// float16 weights and arithmetic, with a cast after the float32 input and before the float32 scores:
    /// half the file and memory, and the fast path of GPU tensor cores. ONNX Runtime's CPU provider runs
    /// it too, but slowly (it has few float16 kernels).
    /// </summary>
    Float16,
}
