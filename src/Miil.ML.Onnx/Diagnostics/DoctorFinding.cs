namespace Miil.ML.Onnx.Diagnostics;

/// <summary>How a doctor finding bears on running Miil.ML here.</summary>
public enum DoctorStatus
{
    /// <summary>Fine as it is.</summary>
    Ok,

    /// <summary>A fact worth knowing; nothing to do.</summary>
    Info,

    /// <summary>Works, but slower or narrower than it could (for example no bfloat16 instructions).</summary>
    Warning,

    /// <summary>Something the user asked for cannot run (for example the CUDA provider does not load).</summary>
    Problem,
}

/// <summary>One line of a <see cref="DoctorReport"/>: what was looked at, what was found, and the fix when there is one.</summary>
/// <param name="Area">The part of the stack ("System", "CUDA", "ONNX Runtime", "TorchSharp", "Parity").</param>
/// <param name="Item">What was examined ("glibc", "libcublas.so.13", "CUDA provider").</param>
/// <param name="Value">What was found, in words.</param>
/// <param name="Status">How it bears on running here.</param>
/// <param name="Fix">What the user can do about it; null when nothing is needed.</param>
public sealed record DoctorFinding(string Area, string Item, string Value, DoctorStatus Status, string? Fix = null);
