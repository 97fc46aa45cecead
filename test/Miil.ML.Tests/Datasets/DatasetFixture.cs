using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.Tests.Datasets;

/// <summary>A temporary folder the reader tests write their fixtures into, and helpers to read a loaded data view back.</summary>
internal sealed class DatasetFixture : IDisposable
{
    public DatasetFixture()
    {
        Root = Directory.CreateTempSubdirectory("miil-readers-").FullName;
    }

    public string Root { get; }

    public MLContext Context { get; } = new(seed: 0);

    public string Write(string relative, string text)
    {
        string path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>An "image": readers only check that files exist, so a few bytes do (size varies with <paramref name="bytes"/>).</summary>
    public string Image(string relative, int bytes = 8)
    {
        string path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, new byte[bytes]);
        return path;
    }

    public static IReadOnlyList<string> ClassNames(IDataView data)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        data.Schema["Label"].GetSlotNames(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToList();
    }

    public static List<(string Path, float[] Label)> Rows(IDataView data)
        => data.GetColumn<string>("ImagePath").Zip(data.GetColumn<VBuffer<float>>("Label").Select(v => v.DenseValues().ToArray())).ToList();

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
