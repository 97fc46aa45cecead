using Microsoft.ML;
using Miil.ML;
using Miil.ML.Datasets;

namespace DocSnippets;

/// <summary>docs/datasets.md.</summary>
public static class Datasets
{
    public static IDataView[] LoadEachFormat(string root)
    {
        var ml = new MLContext(seed: 0);
        MultiLabelCatalog multiLabel = ml.MultiLabel();

        // COCO: instances JSON + image folder; slots in category-id order, named by category.
        IDataView coco = multiLabel.LoadCoco(Path.Combine(root, "coco/annotations/instances_val2017.json"), Path.Combine(root, "coco/val2017"));

        // Pascal VOC: a class seen only through "difficult" objects is -1 (ignored by loss and metrics).
        IDataView voc = multiLabel.LoadVoc(Path.Combine(root, "VOCdevkit/VOC2007"), imageSet: "test");

        // A manifest: "path,labels" lines, labels separated by ';' (TSV for .tsv files).
        IDataView manifest = multiLabel.LoadManifest(Path.Combine(root, "manifest.csv"));

        // Class folders: root/<class>/<image>; the same file name in two folders is one image with both labels.
        IDataView folders = multiLabel.LoadImageFolders(Path.Combine(root, "by-class"));

        // One label space for every split: give the training classes to the other readers.
        IReadOnlyList<string> classes = multiLabel.GetClassNames(manifest);
        IDataView test = multiLabel.LoadManifest(Path.Combine(root, "test.csv"), new ManifestOptions { Classes = classes });
        return [coco, voc, manifest, folders, test];
    }
}
