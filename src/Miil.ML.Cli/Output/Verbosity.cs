using System.CommandLine.Parsing;

namespace Miil.ML.Cli.Output;

/// <summary>The dotnet CLI's verbosity levels.</summary>
internal enum Verbosity
{
    Quiet,
    Minimal,
    Normal,
    Detailed,
    Diagnostic,
}

internal static class Verbosities
{
    public static Verbosity Parse(ArgumentResult result)
    {
        string value = result.Tokens.Count == 0 ? "normal" : result.Tokens[0].Value.ToLowerInvariant();
        switch (value)
        {
            case "q" or "quiet": return Verbosity.Quiet;
            case "m" or "minimal": return Verbosity.Minimal;
            case "n" or "normal": return Verbosity.Normal;
            case "d" or "detailed": return Verbosity.Detailed;
            case "diag" or "diagnostic": return Verbosity.Diagnostic;
            default:
                result.AddError($"--verbosity takes q[uiet], m[inimal], n[ormal], d[etailed] or diag[nostic], not '{value}'.");
                return Verbosity.Normal;
        }
    }
}
