namespace Miil.ML.TorchSharp.Checkpoints;

/// <summary>A checkpoint file cannot be read or does not fit the model; the message names the file.</summary>
public sealed class CheckpointFormatException : FormatException
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public CheckpointFormatException(string path, string problem, Exception? inner = null)
        : base($"Checkpoint '{path}': {problem}", inner)
    {
        FilePath = path;
    }

    /// <summary>The checkpoint file.</summary>
    public string FilePath { get; }
}
