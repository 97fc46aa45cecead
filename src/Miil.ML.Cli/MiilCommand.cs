using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using Miil.ML.Cli.Commands;
using Miil.ML.Cli.Output;

namespace Miil.ML.Cli;

/// <summary>
/// The root command: the subcommands, the options every command shares (<c>--verbosity</c>, <c>--json</c>),
/// and the one place where a failure becomes a one-line message and an exit code (<see cref="ExitCodes"/>).
/// System.CommandLine was chosen over Spectre.Console.Cli because it is the parser of the dotnet CLI and of
/// <c>mlnet</c>: the same option syntax, help layout, response files and Ctrl+C handling (a cancellation
/// token the training loop checks); Spectre.Console still draws tables and progress on a terminal.
/// </summary>
internal static class MiilCommand
{
    /// <summary>How much to say: quiet, minimal, normal (default), detailed, diag (stack traces on errors).</summary>
    public static readonly Option<Verbosity> VerbosityOption = new("--verbosity", "-v")
    {
        Description = "How much to print: q[uiet], m[inimal], n[ormal], d[etailed] or diag (adds stack traces to errors)",
        DefaultValueFactory = _ => Verbosity.Normal,
        CustomParser = r => Verbosities.Parse(r),
        Recursive = true,
    };

    /// <summary>Machine-readable output on standard output, messages on standard error.</summary>
    public static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Write the result as JSON on standard output (messages go to standard error)",
        Recursive = true,
    };

    public static RootCommand Create()
    {
        var root = new RootCommand("miil: multi-label image classification with TResNet, ML-Decoder and the Asymmetric Loss, on ML.NET.\n"
            + "Train on a manifest, COCO, VOC or class folders; evaluate; tune thresholds; predict; export to ONNX or Triton; serve over HTTP (Open Inference Protocol v2).")
        {
            VerbosityOption,
            JsonOption,
            TrainCommand.Create(),
            EvaluateCommand.Create(),
            TuneThresholdsCommand.Create(),
            PredictCommand.Create(),
            ExportCommand.Create(),
            ModelsCommand.Create(),
            DownloadCommand.Create(),
            DoctorCommand.Create(),
            QuickstartCommand.Create(),
            Serving.ServeCommand.Create(),
        };
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        RootCommand root = Create();
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // One line per problem and where to look, not the whole help text.
            // The first problem (later ones usually follow from it, as an unknown option's value does) and where to look.
            Console.Error.WriteLine($"miil: {parsed.Errors[0].Message}");
            string command = parsed.CommandResult.Command is RootCommand ? "miil" : $"miil {parsed.CommandResult.Command.Name}";
            Console.Error.WriteLine($"Run '{command} --help' for the options.");
            return ExitCodes.Usage;
        }
        // Ctrl+C (SIGINT) and a termination request (SIGTERM: kill, docker stop, Kubernetes) cancel the token the commands
        // get; the training loop then writes its checkpoint and stops, and serve drains. A second signal is not held back.
        using var stop = new CancellationTokenSource();
        void Stop(PosixSignalContext context)
        {
            if (!stop.IsCancellationRequested)
            {
                context.Cancel = true;
                stop.Cancel();
            }
        }
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using PosixSignalRegistration terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, stop.Token).ConfigureAwait(false);
    }

    /// <summary>Runs a command body with the shared options read, and every failure turned into one line and an exit code.</summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Action(Func<ParseResult, Terminal, CancellationToken, Task<int>> body)
        => async (ParseResult parsed, CancellationToken cancellationToken) =>
        {
            var terminal = new Terminal(parsed.GetValue(VerbosityOption), parsed.GetValue(JsonOption));
            try
            {
                return await body(parsed, terminal, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return Failures.Report(e, terminal, parsed.CommandResult.Command.Name);
            }
        };
}
