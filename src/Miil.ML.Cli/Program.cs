namespace Miil.ML.Cli;

/// <summary>miil: multi-label image classification from the shell (docs/cli.md).</summary>
internal static class Program
{
    public static Task<int> Main(string[] args) => MiilCommand.RunAsync(args);
}
