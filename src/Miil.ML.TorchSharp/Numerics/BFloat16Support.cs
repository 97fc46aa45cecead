using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Miil.ML.TorchSharp.Numerics;

/// <summary>
/// Whether this CPU computes bfloat16 in hardware (x86: AVX512_BF16 or AMX-BF16; Arm: the BF16
/// extension). Without it libtorch emulates bfloat16 through float32 conversions, several times slower
/// than float32 itself.
/// </summary>
internal static class BFloat16Support
{
    private static readonly Lazy<string?> Instructions = new(Detect);

    /// <summary>The instruction set found ("AVX512_BF16", "AMX-BF16", "Arm BF16"), or null.</summary>
    public static string? HardwareInstructions => Override is { } answer ? answer() : Instructions.Value;

    /// <summary>Tests stand in for another CPU here; null for this one.</summary>
    internal static Func<string?>? Override { get; set; }

    private static string? Detect()
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
}
