using System.Runtime.InteropServices;
using System.Text;

namespace Miil.ML.Onnx.Diagnostics;

/// <summary>
/// Which native libraries load here, and from where (Linux: the process's memory map): the helpers the
/// doctor's probes use, public for probes of your own (<see cref="IDoctorProbe"/>).
/// </summary>
internal static class NativeLibraries
{
    /// <summary>The path of a library mapped into this process whose file name starts with <paramref name="fileNamePrefix"/>, or null (also off Linux).</summary>
    /// <param name="fileNamePrefix">The start of the file name, for example "libstdc++.so" or "libtorch_cuda".</param>
    public static string? MappedPath(string fileNamePrefix)
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
        {
            return null;
        }
        foreach (string line in File.ReadLines(maps))
        {
            int slash = line.IndexOf('/');
            if (slash >= 0 && Path.GetFileName(line.AsSpan(slash)).StartsWith(fileNamePrefix, StringComparison.Ordinal))
            {
                return line[slash..].Trim();
            }
        }
        return null;
    }

    /// <summary>
    /// Loads <paramref name="name"/> as the dynamic loader would for a library that needs it; on success the
    /// file it resolved to (or the name when the OS does not say), otherwise null with the loader's reason.
    /// The library stays loaded: it is what the provider would load next anyway.
    /// </summary>
    /// <param name="name">The library's file name as a DT_NEEDED entry spells it ("libcudart.so.13").</param>
    /// <param name="error">The loader's message when it fails.</param>
    public static string? TryLoad(string name, out string? error)
    {
        error = null;
        try
        {
            NativeLibrary.Load(name);
        }
        catch (DllNotFoundException e)
        {
            error = e.Message;
            return null;
        }
        catch (BadImageFormatException e)
        {
            error = e.Message;
            return null;
        }
        return MappedPath(name) ?? name;
    }

    /// <summary>The N of the highest <c>GLIBCXX_3.4.N</c> version a libstdc++ file names, or null.</summary>
    /// <param name="libstdcxxPath">The libstdc++ file.</param>
    public static int? HighestGlibCxxMinor(string libstdcxxPath)
    {
        byte[] bytes = File.ReadAllBytes(libstdcxxPath);
        byte[] stem = Encoding.ASCII.GetBytes("GLIBCXX_3.4.");
        int? best = null;
        ReadOnlySpan<byte> rest = bytes;
        int at;
        while ((at = rest.IndexOf(stem)) >= 0)
        {
            rest = rest[(at + stem.Length)..];
            int minor = 0, digits = 0;
            while (digits < rest.Length && digits < 3 && rest[digits] is >= (byte)'0' and <= (byte)'9')
            {
                minor = minor * 10 + (rest[digits++] - '0');
            }
            if (digits > 0 && (digits == rest.Length || rest[digits] == 0))
            {
                best = Math.Max(best ?? 0, minor);
            }
        }
        return best;
    }
}
