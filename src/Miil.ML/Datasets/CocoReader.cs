using System.Text.Json;

namespace Miil.ML.Datasets;

/// <summary>
/// Reads a COCO instances file (<c>instances_train2017.json</c> style) as multi-label data: one row
/// per image, a label per category (category-id order), 1 where the image has at least one
/// annotation of it. Streams the file: images, annotations and categories are read token by token
/// and only ids, file names and (image, category) pairs are kept.
/// </summary>
internal static class CocoReader
{
    private readonly record struct Annotation(long Id, long ImageId, long CategoryId);

    public static LabeledImages Read(string annotationsPath, string imageFolder, CocoOptions options)
    {
        if (!File.Exists(annotationsPath))
        {
            throw new FileNotFoundException($"COCO annotation file '{annotationsPath}' does not exist.", annotationsPath);
        }
        var images = new List<(long Id, string FileName)>();
        var annotations = new List<Annotation>();
        var categories = new List<(long Id, string Name)>();
        bool sawImages = false, sawCategories = false, sawAnnotations = false;
        using (var json = new JsonTokenStream(annotationsPath))
        {
            json.Expect(JsonTokenType.StartObject, "a JSON object at the top level");
            while (json.Read() && json.TokenType == JsonTokenType.PropertyName && json.Depth == 1)
            {
                string section = json.Text!;
                json.Read();
                switch (section)
                {
                    case "images":
                        sawImages = true;
                        ReadArray(json, section, fields =>
                            images.Add((Id(fields, "id", "an image", annotationsPath), Text(fields, "file_name", $"image {Id(fields, "id", "an image", annotationsPath)}", annotationsPath))));
                        break;
                    case "annotations":
                        sawAnnotations = true;
                        ReadArray(json, section, fields =>
                        {
                            long id = Id(fields, "id", "an annotation", annotationsPath);
                            annotations.Add(new Annotation(id, Id(fields, "image_id", $"annotation {id}", annotationsPath), Id(fields, "category_id", $"annotation {id}", annotationsPath)));
                        });
                        break;
                    case "categories":
                        sawCategories = true;
                        ReadArray(json, section, fields =>
                            categories.Add((Id(fields, "id", "a category", annotationsPath), Text(fields, "name", $"category {Id(fields, "id", "a category", annotationsPath)}", annotationsPath))));
                        break;
                    default:
                        json.SkipValue();
                        break;
                }
            }
        }
        if (!sawImages || !sawCategories)
        {
            throw new InvalidDataException($"'{annotationsPath}' is not a COCO instances file: it has no \"{(sawImages ? "categories" : "images")}\" array.");
        }

        if (!sawAnnotations && !options.KeepImagesWithoutAnnotations)
        {
            throw new InvalidDataException($"'{annotationsPath}' has no \"annotations\" array, so no image has a label (an image-info file?). Set KeepImagesWithoutAnnotations to load it anyway.");
        }
        categories.Sort((a, b) => a.Id.CompareTo(b.Id));
        var duplicateName = categories.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicateName is not null)
        {
            throw new InvalidDataException($"'{annotationsPath}' names categories {string.Join(" and ", duplicateName.Select(c => c.Id))} both '{duplicateName.Key}'; class names must be unique.");
        }
        var duplicateCategory = categories.GroupBy(c => c.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicateCategory is not null)
        {
            throw new InvalidDataException($"'{annotationsPath}' lists category id {duplicateCategory.Key} twice.");
        }
        IReadOnlyList<string> classes = LabeledImages.Classes(options.Classes, categories.Select(c => c.Name), $"'{annotationsPath}'");
        var classOf = categories.ToDictionary(c => c.Id, c => IndexOf(classes, c.Name));
        var rowOf = new Dictionary<long, int>(images.Count);
        for (int i = 0; i < images.Count; i++)
        {
            if (!rowOf.TryAdd(images[i].Id, i))
            {
                throw new InvalidDataException($"'{annotationsPath}' lists image id {images[i].Id} twice.");
            }
        }
        var labels = new float[images.Count][];
        var annotationIds = new HashSet<long>();
        foreach (Annotation a in annotations)
        {
            if (!annotationIds.Add(a.Id))
            {
                throw new InvalidDataException($"'{annotationsPath}' lists annotation id {a.Id} twice.");
            }
            if (!rowOf.TryGetValue(a.ImageId, out int row))
            {
                throw new InvalidDataException($"Annotation {a.Id} in '{annotationsPath}' refers to image {a.ImageId}, which is not among its images.");
            }
            if (!classOf.TryGetValue(a.CategoryId, out int k))
            {
                throw new InvalidDataException($"Annotation {a.Id} in '{annotationsPath}' refers to category {a.CategoryId}, which is not among its categories.");
            }
            (labels[row] ??= new float[classes.Count])[k] = 1;
        }
        var result = new LabeledImages(classes);
        for (int i = 0; i < images.Count; i++)
        {
            if (labels[i] is null && !options.KeepImagesWithoutAnnotations)
            {
                continue;
            }
            string path = Path.GetFullPath(Path.Combine(imageFolder, images[i].FileName));
            if (options.CheckFilesExist)
            {
                LabeledImages.CheckExists(path, () => $"image {images[i].Id} of '{annotationsPath}'");
            }
            result.Add(path, labels[i] ?? new float[classes.Count]);
        }
        return result;
    }

    private static int IndexOf(IReadOnlyList<string> classes, string name)
    {
        for (int i = 0; i < classes.Count; i++)
        {
            if (classes[i] == name)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Reads an array of flat objects, handing each object's scalar fields to <paramref name="item"/>; nested values are skipped.</summary>
    private static void ReadArray(JsonTokenStream json, string section, Action<Dictionary<string, object>> item)
    {
        if (json.TokenType != JsonTokenType.StartArray)
        {
            throw new InvalidDataException($"'{json.Path}': \"{section}\" is not an array.");
        }
        var fields = new Dictionary<string, object>(StringComparer.Ordinal);
        while (json.Read() && json.TokenType != JsonTokenType.EndArray)
        {
            if (json.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidDataException($"'{json.Path}': an entry of \"{section}\" is not an object.");
            }
            fields.Clear();
            while (json.Read() && json.TokenType != JsonTokenType.EndObject)
            {
                string name = json.Text!;
                json.Read();
                switch (json.TokenType)
                {
                    case JsonTokenType.Number:
                        fields[name] = json.Number;
                        break;
                    case JsonTokenType.String:
                        fields[name] = json.Text!;
                        break;
                    default:
                        json.SkipValue();
                        break;
                }
            }
            item(fields);
        }
    }

    private static long Id(Dictionary<string, object> fields, string name, string what, string path)
        => fields.TryGetValue(name, out object? v) && v is double d && d == Math.Floor(d)
            ? (long)d
            : throw new InvalidDataException($"'{path}': {what} has no whole-number \"{name}\".");

    private static string Text(Dictionary<string, object> fields, string name, string what, string path)
        => fields.TryGetValue(name, out object? v) && v is string s && s.Length > 0
            ? s
            : throw new InvalidDataException($"'{path}': {what} has no \"{name}\".");
}
