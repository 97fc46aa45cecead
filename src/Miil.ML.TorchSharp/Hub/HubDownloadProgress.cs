namespace Miil.ML.TorchSharp.Hub;

/// <summary>Progress of a download: bytes so far (a resumed transfer counts what was already there), the total, and the rate of this transfer.</summary>
/// <param name="Source">What is downloading.</param>
/// <param name="BytesReceived">Bytes on disk so far.</param>
/// <param name="TotalBytes">The file's size, when the server said.</param>
/// <param name="BytesPerSecond">The rate since this transfer started.</param>
public readonly record struct HubDownloadProgress(string Source, long BytesReceived, long? TotalBytes, double BytesPerSecond);
