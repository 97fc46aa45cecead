namespace Miil.ML.IO;

/// <summary>Writes a file through a temporary sibling and a rename: readers see the old file or the whole new one.</summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> with <paramref name="write"/>: to a temporary file beside it, flushed to disk, then renamed over it.</summary>
    /// <param name="path">The file to write (its folder is created).</param>
    /// <param name="write">Writes the whole content.</param>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, TemporaryPrefix(full) + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>
    /// Deletes the temporary siblings of <paramref name="path"/> that a killed writer left (a process killed
    /// between creating the temporary file and the rename cannot remove it). Call it only where no other
    /// process writes the same file, such as a run's own checkpoint folder.
    /// </summary>
    /// <param name="path">The file whose leftovers are removed; the file itself is never touched.</param>
    /// <returns>How many were deleted.</returns>
    public static int RemoveLeftovers(string path)
    {
        string full = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(full);
        if (directory is null || !Directory.Exists(directory))
        {
            return 0;
        }
        int removed = 0;
        foreach (string leftover in Directory.EnumerateFiles(directory, TemporaryPrefix(full) + "*.tmp"))
        {
            File.Delete(leftover);
            removed++;
        }
        return removed;
    }

    private static string TemporaryPrefix(string full) => "." + Path.GetFileName(full) + ".";
}
