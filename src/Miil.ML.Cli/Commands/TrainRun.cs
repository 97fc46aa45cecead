using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Miil.ML.Cli.Data;
using Miil.ML.Cli.Generation;
using Miil.ML.Cli.Output;
using Miil.ML.Evaluation;
using Miil.ML.Reports;
using Miil.ML.TorchSharp;
using Miil.ML.TorchSharp.Losses;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.Cli.Commands;

/// <summary>
/// One <c>miil train</c> run: read and split the data, resolve the model, pick the epochs for a time budget,
/// train with a checkpoint in <c>&lt;output&gt;/checkpoints</c> (Ctrl+C leaves it resumable), then write the outputs
/// (<see cref="TrainOutputs"/>).
/// </summary>
internal static class TrainRun
{
    /// <summary>The output folder's checkpoint folder.</summary>
    public const string CheckpointFolder = "checkpoints";

    public static int Run(TrainSettings settings, string? configFolder, string output, bool resume, bool overwrite, Terminal terminal, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        string checkpoints = Path.Combine(output, CheckpointFolder);
        string checkpoint = Path.Combine(checkpoints, TResNetAslOptions.CheckpointFileName);
        PrepareOutput(output, checkpoint, resume, overwrite);
        using var log = new TrainLog(Path.Combine(output, TrainOutputs.LogFile), terminal);

        string Resolve(string path) => configFolder is null || Path.IsPathRooted(path) ? path : Path.Combine(configFolder, path);
        if (File.Exists(Resolve(settings.Model)))
        {
            settings = settings with { Model = Path.GetFullPath(Resolve(settings.Model)) };  // a checkpoint file, kept in full
        }
        ModelChoice model = ModelChoice.Resolve(settings.Model);  // before the data: a wrong name fails at once
        var ml = new MLContext(seed: settings.Seed);
        ml.Log += (_, e) => log.Context(e);
        // The settings file keeps full paths: a replay reads the same data from wherever it runs.
        settings = settings with
        {
            Dataset = Path.GetFullPath(Resolve(settings.Dataset)),
            ValidationDataset = settings.ValidationDataset is null ? null : Path.GetFullPath(Resolve(settings.ValidationDataset)),
            ImageFolder = settings.ImageFolder is null ? null : Path.GetFullPath(Resolve(settings.ImageFolder)),
        };
        DatasetReader.Settings format = settings.DatasetSettings;

        DatasetReader.Loaded all = DatasetReader.Read(ml, settings.Dataset, "--dataset", settings.Format, format);
        IDataView train, validation;
        long validationRows;
        if (settings.ValidationDataset is string validationPath)
        {
            DatasetReader.Loaded held = DatasetReader.Read(ml, validationPath, "--validation-dataset", settings.Format, format, all.ClassNames);
            (train, validation, validationRows) = (all.Data, held.Data, held.Rows);
        }
        else
        {
            DataOperationsCatalog.TrainTestData split = ml.Data.TrainTestSplit(all.Data, settings.ValidationFraction, seed: settings.Seed);
            (train, validation) = (split.TrainSet, split.TestSet);
            validationRows = DatasetReader.Rows(validation);
            if (validationRows == 0 || validationRows == all.Rows)
            {
                throw new CliException($"--validation-fraction {settings.ValidationFraction} of {all.Rows} images leaves {validationRows} to validate on; "
                    + "give more images, another fraction or --validation-dataset.", ExitCodes.Input);
            }
        }
        long trainRows = all.Rows - (settings.ValidationDataset is null ? validationRows : 0);
        log.Line($"Data: {all.Format.ToString().ToLowerInvariant()} '{all.Path}', {all.ClassNames.Count} classes; {trainRows} images to train, {validationRows} to validate.");

        int imageSize = settings.ImageSize ?? model.ImageSize ?? NetworkDefaults.ImageSize;
        float learningRate = settings.LearningRate ?? (model.PretrainedWeights is null ? 2e-3f : 2e-4f);
        TrainingPrecision precision = settings.Precision switch
        {
            "float32" => TrainingPrecision.Float32,
            "bfloat16" => TrainingPrecision.BFloat16,
            _ => TrainingPrecision.Auto,
        };
        log.Line($"Model: {settings.Model} ({(model.PretrainedWeights is null ? "from scratch" : "pretrained weights")}), {settings.Head} head, {imageSize} px, "
            + $"batch {settings.BatchSize}, learning rate {learningRate:G3}, precision {settings.Precision}.");

        var view = new TrainingView(terminal);
        TResNetAslOptions Options(int epochs, IDataView? validationSet, string? checkpointDirectory) => new()
        {
            LabelColumnName = DefaultColumnNames.Label,
            ImageColumnName = DefaultColumnNames.ImagePath,
            Architecture = model.Architecture,
            PretrainedWeights = model.PretrainedWeights,
            DownloadProgress = view,
            Head = settings.Head switch { "ml-decoder" => ClassifierHead.MLDecoder(), "pooling" => ClassifierHead.Pooling, _ => null },
            ImageSize = imageSize,
            Epochs = epochs,
            BatchSize = settings.BatchSize,
            LearningRate = learningRate,
            Loss = new AsymmetricLossOptions { GammaNeg = settings.GammaNeg, GammaPos = settings.GammaPos, Clip = settings.Clip },
            Precision = precision,
            EmaDecay = settings.EmaDecay > 0 ? settings.EmaDecay : null,
            Augmentation = Augmentations(settings.Augment),
            FreezeBodyEpochs = Math.Min(settings.FreezeEpochs, epochs),
            BodyLearningRateFactor = settings.BodyLearningRateFactor,
            ValidationSet = validationSet,
            Thresholds = new ThresholdOptions
            {
                Selection = settings.Thresholds == "tuned" ? ThresholdSelection.TunedPerClass : ThresholdSelection.Fixed,
                Threshold = settings.Threshold,
            },
            CheckpointDirectory = checkpointDirectory,
            CheckpointEverySteps = settings.CheckpointEverySteps,
            Seed = settings.Seed,
            Progress = view,
            Cancellation = cancel,
        };

        int epochs = settings.Epochs;
        if (settings.TrainTimeSeconds is int budget && !(resume && File.Exists(checkpoint)))
        {
            (epochs, precision) = EpochBudget.Pick(ml, train, trainRows, validationRows, budget, clock.Elapsed, Options(2, null, null), log);
            settings = settings with { Epochs = epochs };
        }
        else if (resume && File.Exists(checkpoint))
        {
            log.Line($"Resuming the run in '{checkpoint}'.");
        }

        Directory.CreateDirectory(checkpoints);
        var training = Stopwatch.StartNew();
        TResNetAslTransformer trained;
        try
        {
            trained = view.Run(() => ml.MultiLabel().TResNetAsl(Options(epochs, validation, checkpoints)).Fit(train));
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            string again = $"miil train --config {Path.Combine(output, settings.Name + TrainOutputs.SettingsExtension)} -o {output} --resume";
            TrainOutputs.WriteSettings(output, settings);
            throw new CliException($"stopped; the checkpoint in '{checkpoints}' resumes the run: {again}", ExitCodes.Canceled);
        }
        using (trained)
        {
            double seconds = training.Elapsed.TotalSeconds;
            TrainHistoryView.Write(terminal, trained.History);
            TrainResult result = TrainOutputs.Write(ml, trained, train, validation, settings, output, seconds, log);
            // The run is complete and its network is in model.safetensors: the resumable state has done its job.
            Directory.Delete(checkpoints, recursive: true);
            ConsoleAppGenerator.Write(output, settings.Name, TrainOutputs.ModelZip, settings, all.Format, model,
                validation.GetColumn<string>(DefaultColumnNames.ImagePath).FirstOrDefault());
            log.Line($"Wrote model.onnx, model.zip, {TrainOutputs.Checkpoint}, report.html, metrics.json, {TrainOutputs.LogFile}, {settings.Name}{TrainOutputs.SettingsExtension} "
                + $"and {settings.Name}.ConsoleApp in '{output}' ({clock.Elapsed.TotalSeconds:F0} s in all).");
            terminal.Result($"Validation mAP {100 * (result.ValidationMap ?? double.NaN):F2}% after {result.Epochs} epochs ({result.TrainingSeconds:F0} s of training); model in '{output}'.");
            terminal.WriteJson(new { output, model = Path.Combine(output, TrainOutputs.ModelZip), onnx = Path.Combine(output, TrainOutputs.ModelOnnx), result });
        }
        return ExitCodes.Success;
    }

    /// <summary>The augmentation a name stands for (the same in the generated training code).</summary>
    internal static AugmentationOptions Augmentations(string name) => name switch
    {
        "flip" => new AugmentationOptions { HorizontalFlipProbability = 0.5, CutoutFactor = 0, RandAugmentOperations = 0 },
        "none" => new AugmentationOptions { HorizontalFlipProbability = 0, CutoutFactor = 0, RandAugmentOperations = 0 },
        _ => new AugmentationOptions(),
    };

    /// <summary>Refuses to overwrite a previous run's results (unless asked), and a checkpoint unless resuming it.</summary>
    private static void PrepareOutput(string output, string checkpoint, bool resume, bool overwrite)
    {
        if (resume && overwrite)
        {
            throw new CliException("--resume continues the run in the output folder and --overwrite starts it over: give one.");
        }
        if (File.Exists(output))
        {
            throw new CliException($"-o '{output}' is a file; give a folder.");
        }
        bool hasModel = File.Exists(Path.Combine(output, TrainOutputs.ModelZip)) || File.Exists(Path.Combine(output, TrainOutputs.ModelOnnx));
        bool hasCheckpoint = File.Exists(checkpoint);
        if (resume && !hasCheckpoint)
        {
            throw new CliException($"--resume: '{checkpoint}' does not exist; there is no stopped run in '{output}'.", ExitCodes.Input);
        }
        if (!resume && !overwrite && (hasModel || hasCheckpoint))
        {
            throw new CliException($"'{output}' already holds {(hasModel ? "a trained model" : "the checkpoint of a stopped run")}; "
                + $"{(hasCheckpoint ? "--resume continues it, " : "")}--overwrite replaces it, or choose another folder with -o.");
        }
        if (overwrite && hasCheckpoint)
        {
            File.Delete(checkpoint);
        }
        Directory.CreateDirectory(output);
    }
}
