using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Miil.ML.Onnx.Diagnostics;

/// <summary>The CPU instruction sets that decide Miil.ML's speed here: AVX2 and AVX-512 for the kernels, bfloat16 for mixed precision.</summary>
internal static class CpuFeatures
{
    private static readonly Lazy<string?> BFloat16 = new(DetectBFloat16);

    /// <summary>Whether the CPU has AVX2 (the vector width .NET's and ONNX Runtime's fast paths assume on x64).</summary>
    public static bool Avx2 => System.Runtime.Intrinsics.X86.Avx2.IsSupported;

    /// <summary>Whether the CPU has AVX-512 (foundation).</summary>
    public static bool Avx512 => Avx512F.IsSupported;

    /// <summary>
    /// The bfloat16 instructions found ("AMX-BF16", "AVX512_BF16", "Arm BF16"), or null: without them
    /// libtorch emulates bfloat16 through float32, several times slower than float32 itself.
    /// </summary>
    public static string? BFloat16Instructions => BFloat16.Value;

    private static string? DetectBFloat16()
    {
        if (X86Base.IsSupported)
        {
            // CPUID leaf 7: sub-leaf 0 EDX bit 22 is AMX-BF16; sub-leaf 1 EAX bit 5 is AVX512_BF16.
            (_, _, _, int edx) = X86Base.CpuId(7, 0);
            if ((edx & (1 << 22)) != 0)
            {
                return "AMX-BF16";
            }
            (int eax, _, _, _) = X86Base.CpuId(7, 1);
            return (eax & (1 << 5)) != 0 ? "AVX512_BF16" : null;
        }
        if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64 && File.Exists("/proc/cpuinfo"))
        {
            // Linux lists the extension among each core's features.
            bool bf16 = File.ReadLines("/proc/cpuinfo")
                .Where(l => l.StartsWith("Features", StringComparison.Ordinal))
                .Any(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("bf16"));
            return bf16 ? "Arm BF16" : null;
        }
        return null;
    }

    /// <summary>The CPU's model name as the OS reports it, or null.</summary>
    internal static string? ModelName()
    {
        if (!File.Exists("/proc/cpuinfo"))
        {
            return null;
        }
        string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line?[(line.IndexOf(':') + 1)..].Trim();
    }
}
