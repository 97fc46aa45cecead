using Miil.ML.Testing;

namespace Miil.ML.Repository.Tests.Docs;

/// <summary>
/// Every C# block in README.md and docs/*.md appears verbatim (line by line, ignoring indentation and
/// blank lines) in a compiled source under examples/ (examples/DocSnippets holds them), so a block that
/// stops compiling breaks the build and a block edited only in the docs fails here.
/// </summary>
[TestClass]
public sealed class DocsCodeBlocksTests
{
    private static string Root => Testing.Repository.Root;

    [TestMethod]
    public void EveryCSharpBlockOfTheDocsIsCompiledCode()
    {
        string[] documents = [Path.Combine(Root, "README.md"), Path.Combine(Root, "examples", "README.md"), .. Directory.GetFiles(Path.Combine(Root, "docs"), "*.md")];
        List<string> compiled = Directory.EnumerateFiles(Path.Combine(Root, "examples"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => Normalize(File.ReadAllLines(f))).ToList();
        var missing = new List<string>();
        int blocks = 0;
        foreach (string document in documents)
        {
            foreach ((int line, List<string> block) in CSharpBlocks(File.ReadAllLines(document)))
            {
                blocks++;
                List<string> wanted = Normalize(block).ToList();
                if (!Contains(compiled, wanted))
                {
                    missing.Add($"{Path.GetRelativePath(Root, document)}:{line} ({wanted.FirstOrDefault()})");
                }
            }
        }
        Assert.IsGreaterThanOrEqualTo(8, blocks, "the docs' C# blocks were found");
        Assert.IsEmpty(missing, "C# blocks not found verbatim in examples/ (put them in examples/DocSnippets):\n" + string.Join("\n", missing));
    }

    private static IEnumerable<(int Line, List<string> Block)> CSharpBlocks(string[] lines)
    {
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() == "```csharp")
            {
                int start = i + 1;
                var block = new List<string>();
                while (++i < lines.Length && lines[i].Trim() != "```")
                {
                    block.Add(lines[i]);
                }
                yield return (start, block);
            }
        }
    }

    private static IEnumerable<string> Normalize(IEnumerable<string> lines) => lines.Select(l => l.Trim()).Where(l => l.Length > 0);

    private static bool Contains(List<string> haystack, List<string> needle)
    {
        if (needle.Count == 0)
        {
            return true;
        }
        for (int i = 0; i + needle.Count <= haystack.Count; i++)
        {
            int k = 0;
            while (k < needle.Count && haystack[i + k] == needle[k])
            {
                k++;
            }
            if (k == needle.Count)
            {
                return true;
            }
        }
        return false;
    }
}
