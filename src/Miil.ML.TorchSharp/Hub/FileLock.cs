using Microsoft.ML;

namespace Miil.ML.TorchSharp.Hub;

/// <summary>
/// An exclusive lock on a file, held across processes (an open handle that shares nothing: flock on
/// Unix, a share-mode lock on Windows), as <c>huggingface_hub</c> locks a blob while it downloads it.
/// The lock file itself is left in place: deleting it could let a third process lock another inode.
/// </summary>
internal sealed class FileLock : IDisposable
{
    private readonly FileStream _handle;

    private FileLock(FileStream handle) => _handle = handle;

    public static async Task<FileLock> AcquireAsync(string path, string what, MLContext? log, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        DateTime nextNote = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                return new FileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None));
            }
            catch (IOException) when (File.Exists(path))
            {
                if (DateTime.UtcNow > nextNote && log is not null)
                {
                    ContextLog.Info(log, nameof(HubClient), $"Waiting for another process downloading {what} (lock '{path}').");
                    nextNote = DateTime.UtcNow.AddSeconds(10);
                }
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public void Dispose() => _handle.Dispose();
}
