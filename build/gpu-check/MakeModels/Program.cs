// MakeModels: the models and images the GPU check carries to a host without .NET or libtorch.
//   MakeModels <folder> [--architecture M] [--image-size 224] [--classes 80] [--images 16] [--seed 0]
// Writes <folder>/model-float32.onnx, model-float16.onnx (Miil.ML's ONNX contract, logits included, so
// parity is compared before the sigmoid flattens differences) and images/*.png (the built-in synthetic
// shapes at the network's size). Weights are libtorch's seeded initialisation: parity and throughput do
// not depend on what the network has learned.
using System.Globalization;
using Miil.ML.Datasets;
using Miil.ML.Onnx;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Models.TResNet;
using static TorchSharp.torch;

if (args.Length == 0 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: MakeModels <folder> [--architecture M] [--image-size 224] [--classes 80] [--images 16] [--seed 0]");
    return 2;
}
string folder = Path.GetFullPath(args[0]);
string Option(string name, string fallback)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
}
int Int(string name, int fallback) => int.TryParse(Option(name, fallback.ToString(CultureInfo.InvariantCulture)), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0
    ? v : throw new ArgumentException($"{name} needs a whole number, got '{Option(name, "")}'.");

string architectureName = Option("--architecture", "M");
int size = Int("--image-size", 224), classes = Int("--classes", 80), imageCount = Int("--images", 16), seed = Int("--seed", 0);
TResNetArchitecture architecture = architectureName == "tiny" ? TResNetArchitecture.Custom([1, 1, 1, 1], 0.25) : TResNetArchitecture.FromName(architectureName);

Directory.CreateDirectory(folder);
manual_seed(seed);
using var network = new TResNet(architecture, classes);
network.eval();
IReadOnlyList<string> names = Enumerable.Range(0, classes).Select(i => $"class_{i}").ToList();
foreach (OnnxPrecision precision in new[] { OnnxPrecision.Float32, OnnxPrecision.Float16 })
{
    string path = Path.Combine(folder, $"model-{precision.ToString().ToLowerInvariant()}.onnx");
    OnnxExporter.Export(network, path, new OnnxExportOptions { ImageSize = size, ClassNames = names, Precision = precision, IncludeLogits = true });
    Console.WriteLine($"{path}: {new FileInfo(path).Length / (1024.0 * 1024):F1} MiB");
}
string images = Path.Combine(folder, "images");
SyntheticShapes.Write(new SyntheticShapesOptions { Count = imageCount, ImageSize = size, ClassCount = Math.Min(classes, 12), Seed = seed + 1 }, images);
Console.WriteLine($"{images}: {Directory.GetFiles(images, "*.png", SearchOption.AllDirectories).Length} images");
return 0;
