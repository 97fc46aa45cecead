// A Model Builder-style app for multi-label image classification: ShapesModel.training.cs builds
// and trains the pipeline from ShapesModel.mbconfig, ShapesModel.consumption.cs scores with the
// saved model. Usage: dotnet run --project examples/ShapesModel [-- --config <file.mbconfig>] [--retrain]
using Microsoft.ML;
using Microsoft.ML.Data;
using ShapesModel_App;

string configPath = Path.GetFullPath(args.SkipWhile(a => a != "--config").Skip(1).FirstOrDefault()
    ?? Path.Combine(AppContext.BaseDirectory, "ShapesModel.mbconfig"));
ShapesModelConfig config = ShapesModelConfig.Load(configPath);
// Data and model live next to a given config, or in ./shapesmodel-output for the built-in one.
string folder = args.Contains("--config") ? Path.GetDirectoryName(configPath)! : Path.Combine(Directory.GetCurrentDirectory(), "shapesmodel-output");
Directory.CreateDirectory(folder);
string modelPath = Path.GetFullPath(Path.Combine(folder, config.ModelPath));

if (!File.Exists(modelPath) || args.Contains("--retrain"))
{
    Console.WriteLine($"Training from {configPath} ({config.DataSource.Type} data) ...");
    ShapesModel.Train(modelPath, config, folder);
    Console.WriteLine($"Saved {modelPath}.");
}

ShapesModel.MLNetModelPath = modelPath;
// Predict on images the model did not train on: the validation part of the same split.
MLContext ml = new(seed: config.TrainingOption.Seed);
IDataView heldOut = ShapesModel.SplitData(ml, ShapesModel.LoadIDataViewFromConfig(ml, config, folder), config).TestSet;
foreach (string image in heldOut.GetColumn<string>("ImagePath").Take(3))
{
    var input = new ShapesModel.ModelInput { ImagePath = image };
    ShapesModel.ModelOutput output = ShapesModel.Predict(input);
    IReadOnlyList<string> labels = ShapesModel.GetLabels();
    string predicted = string.Join(", ", labels.Where((_, i) => output.PredictedLabels[i]));
    string top = string.Join(", ", ShapesModel.PredictAllLabels(input).Take(3).Select(p => $"{p.Key} {p.Value:F2}"));
    Console.WriteLine($"{Path.GetFileName(image)}: predicted [{predicted}]; top 3: {top}");
}
