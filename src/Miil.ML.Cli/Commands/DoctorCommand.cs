using System.CommandLine;
using Microsoft.ML;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Diagnostics;

namespace Miil.ML.Cli.Commands;

/// <summary><c>miil doctor</c>: why training and scoring would (not) use the GPU here, with a scoring parity check.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var command = new Command("doctor", "Examine this machine (CPU features, libtorch, ONNX Runtime, CUDA driver and libraries) and say why training and scoring would or would not use the GPU. "
            + "Exits 1 when scoring on the chosen device disagrees with the CPU.\n\nExamples:\n  miil doctor\n  miil doctor --json");
        command.SetAction(MiilCommand.Action(async (parsed, terminal, cancel) =>
        {
            await Task.Yield();
            DoctorReport report = new MLContext().MultiLabel().Doctor();
            if (terminal.Json)
            {
                terminal.WriteJson(new
                {
                    report.CudaTrainingAvailable,
                    report.CudaScoringAvailable,
                    report.ParityPassed,
                    findings = report.Findings.Select(f => new { f.Area, f.Item, Status = f.Status.ToString(), f.Value, f.Fix }),
                });
            }
            else
            {
                terminal.Result(report.ToString());
            }
            return report.ParityPassed ? ExitCodes.Success : ExitCodes.Failed;
        }));
        return command;
    }
}
