using System.Xml;
using System.Xml.Linq;

namespace Miil.ML.Datasets;

/// <summary>
/// Reads a Pascal VOC split (<c>ImageSets/Main/&lt;split&gt;.txt</c> listing image ids,
/// <c>Annotations/&lt;id&gt;.xml</c> with the objects, <c>JPEGImages/</c>) as multi-label data:
/// 1 where a non-difficult object of the class is present, -1 where only difficult ones are
/// (unless counted), 0 otherwise.
/// </summary>
internal static class VocReader
{
    public static LabeledImages Read(string root, string imageSet, VocOptions options)
    {
        string list = Path.Combine(root, "ImageSets", "Main", imageSet + ".txt");
        if (!File.Exists(list))
        {
            throw new FileNotFoundException($"VOC image set '{list}' does not exist (expected ImageSets/Main/{imageSet}.txt under '{root}').", list);
        }
        var entries = new List<(int Line, string Image, Dictionary<string, bool> Objects)>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(list))
        {
            lineNumber++;
            string id = line.Trim().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
            if (id.Length == 0)
            {
                continue;
            }
            string xml = Path.Combine(root, "Annotations", id + ".xml");
            if (!File.Exists(xml))
            {
                throw new FileNotFoundException($"Annotation '{xml}' of image '{id}' (line {lineNumber} of '{list}') does not exist.", xml);
            }
            (string image, Dictionary<string, bool> objects) = ReadAnnotation(xml, root, id);
            entries.Add((lineNumber, image, objects));
        }
        IEnumerable<string> found = entries.SelectMany(e => e.Objects.Keys).Distinct().Order(StringComparer.Ordinal);
        IReadOnlyList<string> classes = options.Classes
            ?? (found.All(VocOptions.StandardClasses.Contains) ? VocOptions.StandardClasses : found.ToList());
        classes = LabeledImages.Classes(classes, found, $"VOC split '{list}'");
        var index = classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
        var result = new LabeledImages(classes);
        foreach ((int line, string image, Dictionary<string, bool> objects) in entries)
        {
            var labels = new float[classes.Count];
            foreach ((string name, bool onlyDifficult) in objects)
            {
                labels[index[name]] = onlyDifficult && !options.CountDifficult ? -1 : 1;
            }
            if (options.CheckFilesExist)
            {
                LabeledImages.CheckExists(image, () => $"line {line} of '{list}'");
            }
            result.Add(image, labels);
        }
        return result;
    }

    /// <summary>The image path and, per class present, whether all its objects are difficult.</summary>
    private static (string Image, Dictionary<string, bool> Objects) ReadAnnotation(string xml, string root, string id)
    {
        XDocument document;
        try
        {
            document = XDocument.Load(xml, LoadOptions.SetLineInfo);
        }
        catch (XmlException e)
        {
            throw new InvalidDataException($"Annotation '{xml}' is not valid XML (line {e.LineNumber}): {e.Message}", e);
        }
        XElement annotation = document.Root is { Name.LocalName: "annotation" } r
            ? r : throw new InvalidDataException($"Annotation '{xml}' has no <annotation> root element.");
        string fileName = annotation.Element("filename")?.Value.Trim() is { Length: > 0 } f ? f : id + ".jpg";
        var objects = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (XElement o in annotation.Elements("object"))
        {
            string name = o.Element("name")?.Value.Trim() ?? "";
            if (name.Length == 0)
            {
                throw new InvalidDataException($"Annotation '{xml}', line {((IXmlLineInfo)o).LineNumber}: an <object> has no <name>.");
            }
            string difficultText = o.Element("difficult")?.Value.Trim() ?? "0";
            bool difficult = difficultText switch
            {
                "0" => false,
                "1" => true,
                _ => throw new InvalidDataException($"Annotation '{xml}', line {((IXmlLineInfo)o).LineNumber}: <difficult> is '{difficultText}', not 0 or 1."),
            };
            objects[name] = objects.TryGetValue(name, out bool onlyDifficult) ? onlyDifficult && difficult : difficult;
        }
        return (Path.GetFullPath(Path.Combine(root, "JPEGImages", fileName)), objects);
    }
}
