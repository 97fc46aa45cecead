using System.CommandLine;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Serving;
using Miil.ML.TorchSharp.Models;

namespace Miil.ML.Cli.Commands;

/// <summary><c>miil export</c>: a trained model as ONNX in float32 or float16, or as a Triton model repository entry.</summary>
internal static class ExportCommand
{
    private static readonly Option<string> Model = TrainedModel.Option("The trained model: a 'miil train' output folder, model.zip, model.onnx or the network checkpoint (model.safetensors)");
    private static readonly Option<string> Precision = new("--precision") { Description = "float32 or float16 (half the size; for GPU scoring)", DefaultValueFactory = _ => "float32" };
    private static readonly Option<string?> Triton = new("--triton") { Description = "Write a Triton Inference Server model repository entry into this folder instead of one file" };
    private static readonly Option<string?> TritonName = new("--triton-name") { Description = "The model's name in the Triton repository", DefaultValueFactory = _ => "multilabel" };
    private static readonly Option<string?> Output = new("--output", "-o") { Description = "The .onnx file to write (with --triton: not used)" };

    public static Command Create()
    {
        var command = new Command("export", "Export a trained model to ONNX (float32 or float16) or to a Triton model repository.\n\n"
            + "Examples:\n  miil export -m out -o model.onnx\n  miil export -m out --precision float16 -o model16.onnx\n  miil export -m out --triton models/ --triton-name photos");
        foreach (Option option in new Option[] { Model, Precision, Triton, TritonName, Output })
        {
            command.Add(option);
        }
        command.SetAction(MiilCommand.Action(async (parsed, terminal, cancel) =>
        {
            await Task.Yield();
            string given = parsed.GetValue(Model)!;
            OnnxPrecision precision = parsed.GetValue(Precision) switch
            {
                "float32" => OnnxPrecision.Float32,
                "float16" => OnnxPrecision.Float16,
                string other => throw new CliException($"--precision takes float32 or float16, not '{other}'."),
                null => OnnxPrecision.Float32,
            };
            string? triton = parsed.GetValue(Triton);
            string? output = parsed.GetValue(Output);
            if (triton is null && output is null)
            {
                throw new CliException("Give -o FILE.onnx, or --triton FOLDER.");
            }
            byte[] onnx = Onnx(given, precision);
            if (triton is not null)
            {
                string folder = TritonRepository.Save(onnx, Path.GetFullPath(triton), parsed.GetValue(TritonName));
                terminal.Result($"Wrote the Triton model '{parsed.GetValue(TritonName)}' in '{folder}'.");
                terminal.WriteJson(new { triton = folder, precision = precision.ToString() });
                return ExitCodes.Success;
            }
            string file = Path.GetFullPath(output!);
            if (File.Exists(file) && string.Equals(file, SafePath(given), StringComparison.Ordinal))
            {
                throw new CliException("-o names the input model: write the export to another file.");
            }
            Miil.ML.IO.AtomicFile.Write(file, s => s.Write(onnx));
            terminal.Result($"Wrote '{file}' ({precision}, {onnx.Length / 1048576.0:F1} MiB).");
            terminal.WriteJson(new { onnx = file, precision = precision.ToString(), bytes = onnx.Length });
            return ExitCodes.Success;
        }));
        return command;
    }

    private static string? SafePath(string given)
    {
        try
        {
            return TrainedModel.Path(given);
        }
        catch (CliException)
        {
            return null;
        }
    }

    /// <summary>
    /// The ONNX bytes in the precision asked for. Float32 is the trained model's own graph; float16 is exported again from
    /// the network (the checkpoint 'miil train' writes beside the model), keeping the model's classes, thresholds and preprocessing.
    /// </summary>
    private static byte[] Onnx(string given, OnnxPrecision precision)
    {
        string full = Path.GetFullPath(given);
        string? checkpoint = full.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || full.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) ? full
            : Directory.Exists(full) ? Path.Combine(full, TrainOutputs.Checkpoint)
            : Path.Combine(Path.GetDirectoryName(full)!, TrainOutputs.Checkpoint);
        bool isCheckpoint = string.Equals(checkpoint, full, StringComparison.Ordinal);
        if (precision == OnnxPrecision.Float32 && !isCheckpoint)
        {
            return Miil.ML.Onnx.Scoring.ModelZipLoader.OnnxOf(TrainedModel.Path(given));
        }
        if (!File.Exists(checkpoint))
        {
            throw new CliException($"float16 is exported from the network: '{checkpoint}' (which 'miil train' writes beside the model) does not exist.", ExitCodes.Input);
        }
        // Classes, thresholds and preprocessing from the trained model beside the checkpoint, when there is one.
        string folder = Path.GetDirectoryName(checkpoint)!;
        string? trained = new[] { TrainOutputs.ModelZip, TrainOutputs.ModelOnnx }.Select(n => Path.Combine(folder, n)).FirstOrDefault(File.Exists);
        MultiLabelOnnxModel? description = trained is null ? null : MultiLabelOnnxModel.Read(Miil.ML.Onnx.Scoring.ModelZipLoader.OnnxOf(trained), trained);
        using MultiLabelNetwork network = MultiLabelNetwork.Load(checkpoint);
        int size = description?.ImageSize ?? Miil.ML.TorchSharp.Models.NetworkDefaults.ImageSize;
        return Miil.ML.TorchSharp.Export.OnnxExporter.Export(network, new Miil.ML.TorchSharp.Export.OnnxExportOptions
        {
            ImageSize = size,
            ClassNames = description?.ClassNames,
            Thresholds = description?.Thresholds,
            Preprocessing = description?.Preprocessing,
            Precision = precision,
        });
    }
}
