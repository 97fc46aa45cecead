namespace Miil.ML.Datasets;

/// <summary>
/// Reads the folder convention: each subfolder of the root is a class, holding that class's images.
/// An image belongs to every class folder holding a file of its name (copies or links), so the same
/// file name in two folders means the same image; same-named files of different sizes are refused,
/// as they are evidently different images.
/// </summary>
internal static class ImageFoldersReader
{
    private static readonly HashSet<string> Extensions = new(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp" };

    public static LabeledImages Read(string root, IReadOnlyList<string>? classes)
    {
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"Image folder '{root}' does not exist.");
        }
        var folders = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        IReadOnlyList<string> names = LabeledImages.Classes(classes, folders, $"Image folder '{root}'");
        var images = new SortedDictionary<string, (string Path, long Size, float[] Labels)>(StringComparer.Ordinal);
        for (int k = 0; k < names.Count; k++)
        {
            string folder = Path.Combine(root, names[k]);
            if (!Directory.Exists(folder))
            {
                continue;
            }
            foreach (string file in Directory.EnumerateFiles(folder).Where(f => Extensions.Contains(Path.GetExtension(f))))
            {
                string name = Path.GetFileName(file);
                long size = new FileInfo(file).Length;
                if (images.TryGetValue(name, out var seen))
                {
                    if (seen.Size != size)
                    {
                        throw new InvalidDataException($"'{seen.Path}' and '{file}' share a file name but differ in size; in the folder convention one name is one image (rename one of them).");
                    }
                    seen.Labels[k] = 1;
                }
                else
                {
                    var labels = new float[names.Count];
                    labels[k] = 1;
                    images[name] = (Path.GetFullPath(file), size, labels);
                }
            }
        }
        if (images.Count == 0)
        {
            throw new InvalidDataException($"Image folder '{root}' has no images in class subfolders (expected {root}/<class>/<image>.png|jpg|...).");
        }
        var result = new LabeledImages(names);
        foreach ((string path, _, float[] labels) in images.Values)
        {
            result.Add(path, labels);
        }
        return result;
    }
}
