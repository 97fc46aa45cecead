using System.CommandLine;
using Miil.ML.Datasets;

namespace Miil.ML.Cli.Commands;

/// <summary><c>miil quickstart</c>: the built-in synthetic data end to end through <c>miil train</c>, as the QuickStart example does.</summary>
internal static class QuickstartCommand
{
    private static readonly Option<string> Output = new("--output", "-o") { Description = "Output folder", DefaultValueFactory = _ => "miil-quickstart" };
    private static readonly Option<int> Images = new("--images") { Description = "Images to generate (a fifth of them validate)", DefaultValueFactory = _ => 2700 };
    private static readonly Option<int> Classes = new("--classes") { Description = $"Classes, up to {SyntheticShapes.MaxClasses}", DefaultValueFactory = _ => 12 };
    private static readonly Option<int> Epochs = new("--epochs", "-e") { Description = "Epochs", DefaultValueFactory = _ => 15 };
    private static readonly Option<int> ImageSize = new("--image-size") { Description = "Network input side", DefaultValueFactory = _ => 64 };
    private static readonly Option<string> Precision = new("--precision") { Description = "auto, float32 or bfloat16", DefaultValueFactory = _ => "auto" };
    private static readonly Option<bool> Overwrite = new("--overwrite") { Description = "Replace a previous quickstart's results in the output folder" };
    private static readonly Option<int> Seed = new("--seed") { Description = "Seed of data and training", DefaultValueFactory = _ => 0 };

    public static Command Create()
    {
        var command = new Command("quickstart", "Generate the built-in data (coloured shapes, several per image) and run 'miil train' on it with a small TResNet: "
            + "the whole path in a few minutes on a laptop CPU.\n\nExamples:\n  miil quickstart\n  miil quickstart -o qs --images 600 --epochs 3");
        foreach (Option option in new Option[] { Output, Images, Classes, Epochs, ImageSize, Precision, Overwrite, Seed })
        {
            command.Add(option);
        }
        command.SetAction(MiilCommand.Action(async (parsed, terminal, cancel) =>
        {
            await Task.Yield();
            int images = parsed.GetValue(Images), classes = parsed.GetValue(Classes);
            if (images < 20 || classes < 1 || classes > SyntheticShapes.MaxClasses)
            {
                throw new CliException($"--images must be at least 20 and --classes between 1 and {SyntheticShapes.MaxClasses}.");
            }
            string output = Path.GetFullPath(parsed.GetValue(Output)!);
            string data = Path.Combine(output, "data");
            terminal.Info($"Generating {images} images of {classes} classes in '{data}' ...");
            string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = images, ClassCount = classes, ImageSize = Math.Max(64, parsed.GetValue(ImageSize)), Seed = parsed.GetValue(Seed) }, data);
            var settings = new TrainSettings
            {
                Name = "QuickStartModel",
                Dataset = manifest,
                // A small TResNet (one block per stage, half width) from scratch; the classes are colour and shape,
                // so flips only (RandAugment's colour operations would rewrite labels), and an EMA for a few hundred steps.
                Model = "tresnet:1,1,1,1x0.5",
                ImageSize = parsed.GetValue(ImageSize),
                Epochs = parsed.GetValue(Epochs),
                BatchSize = 32,
                LearningRate = 2e-3f,
                EmaDecay = 0.98,
                Augment = "flip",
                Precision = parsed.GetValue(Precision)!,
                Seed = parsed.GetValue(Seed),
            };
            return TrainRun.Run(settings, configFolder: null, output, resume: false, parsed.GetValue(Overwrite), terminal, cancel);
        }));
        return command;
    }
}
