// Compiled by MSBuild's RoslynCodeTaskFactory (see LibStdCxxCompat.targets) and, unchanged, by the
// test project. It therefore targets what that factory offers: netstandard, no Span, no
// BinaryPrimitives, and ELF read little-endian by hand. Miil.ML.Onnx compiles its ELF reader too
// (MIIL_ELF_READER_ONLY: the GPU doctor reads a CUDA provider's DT_NEEDED with it), so that the
// repository has one ELF reader.
//
// Why this exists: TorchSharp 0.107's libLibTorchSharp.so was linked with GCC 13, whose <iostream>
// adds a version need on GLIBCXX_3.4.32 for one symbol, std::ios_base_library_init(), that exists
// only to force linking and that no relocation uses. Older distributions (Debian 12 stops at
// GLIBCXX_3.4.30) refuse to load the library for that need alone. Marking the need weak
// (VER_FLG_WEAK in .gnu.version_r) tells the dynamic loader that its absence is not fatal; the
// loader still fails loudly if a relocation ever asks for a symbol of that version, and this task
// refuses up front when one does.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
#if !MIIL_ELF_READER_ONLY
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
#endif

namespace Miil.Build
{
#if !MIIL_ELF_READER_ONLY
    /// <summary>
    /// MSBuild task: for each native library given, marks as weak every libstdc++ version need that the
    /// system libstdc++ does not define and that no relocation references; fails the build when a
    /// relocation does reference a missing version (the library could not work here).
    /// </summary>
    public sealed class RelaxLibStdCxxVersionNeeds : Microsoft.Build.Utilities.Task
    {
        /// <summary>Native libraries to check (the copies in the build or publish output).</summary>
        [Required]
        public ITaskItem[] Libraries { get; set; } = new ITaskItem[0];

        /// <summary>Path of the libstdc++ to check against; empty = the one this process loaded.</summary>
        public string SystemLibStdCxx { get; set; } = "";

        /// <summary>The libraries that were rewritten.</summary>
        [Output]
        public ITaskItem[] Patched { get; set; } = new ITaskItem[0];

        /// <inheritdoc />
        public override bool Execute()
        {
            string? libStdCxx = string.IsNullOrEmpty(SystemLibStdCxx) ? LibStdCxxLocator.Find() : SystemLibStdCxx;
            if (libStdCxx == null || !File.Exists(libStdCxx))
            {
                Log.LogMessage(MessageImportance.Normal,
                    "Miil.ML libstdc++ compatibility: no libstdc++.so.6 found on this machine; nothing to check.");
                return true;
            }

            HashSet<string> available;
            try
            {
                available = ElfFile.Read(libStdCxx).VersionDefinitions();
            }
            catch (ElfFormatException e)
            {
                Log.LogError("Miil.ML libstdc++ compatibility: cannot read the version definitions of '{0}': {1}", libStdCxx, e.Message);
                return false;
            }

            var patched = new List<ITaskItem>();
            foreach (ITaskItem item in Libraries)
            {
                string path = item.GetMetadata("FullPath");
                try
                {
                    VersionNeedReport report = LibStdCxxVersionNeeds.Relax(path, available);
                    if (report.Referenced.Count > 0)
                    {
                        Log.LogError(
                            "Miil.ML libstdc++ compatibility: '{0}' needs {1} from libstdc++.so.6, which '{2}' does not define, " +
                            "and relocations reference symbols of that version ({3}). The library cannot run on this machine; " +
                            "install a newer libstdc++ or use a TorchSharp build linked against an older one.",
                            path, string.Join(", ", report.Referenced.Keys), libStdCxx,
                            string.Join(", ", report.Referenced.SelectMany(kv => kv.Value).Distinct().Take(8)));
                        continue;
                    }
                    if (report.Relaxed.Count > 0)
                    {
                        Log.LogMessage(MessageImportance.High,
                            "Miil.ML libstdc++ compatibility: marked version need {0} of '{1}' weak (not defined by '{2}', no relocation uses it).",
                            string.Join(", ", report.Relaxed), path, libStdCxx);
                        patched.Add(item);
                    }
                }
                catch (ElfFormatException e)
                {
                    Log.LogError("Miil.ML libstdc++ compatibility: cannot process '{0}': {1}", path, e.Message);
                }
                catch (IOException e)
                {
                    Log.LogError("Miil.ML libstdc++ compatibility: cannot rewrite '{0}': {1}", path, e.Message);
                }
            }
            Patched = patched.ToArray();
            return !Log.HasLoggedErrors;
        }
    }

    /// <summary>What <see cref="LibStdCxxVersionNeeds.Relax"/> found and did for one library.</summary>
    internal sealed class VersionNeedReport
    {
        /// <summary>Missing versions that are now (or were already) weak.</summary>
        public List<string> Relaxed { get; } = new List<string>();

        /// <summary>Missing versions used by relocations, with the symbols that use them.</summary>
        public Dictionary<string, List<string>> Referenced { get; } = new Dictionary<string, List<string>>();

        /// <summary>Whether the file on disk was rewritten.</summary>
        public bool Rewritten { get; set; }
    }

    /// <summary>The libstdc++-specific policy on top of <see cref="ElfFile"/>.</summary>
    internal static class LibStdCxxVersionNeeds
    {
        public const string LibraryName = "libstdc++.so.6";
        private const ushort VerFlagWeak = 0x2;

        /// <summary>
        /// Marks weak each strong libstdc++ version need of <paramref name="path"/> that is not in
        /// <paramref name="available"/> and that no relocation references. Writes only when something
        /// changes, through a temporary file and a rename, so a hard link into the NuGet cache is never
        /// written through. Nothing is written when a referenced version is missing.
        /// </summary>
        public static VersionNeedReport Relax(string path, ISet<string> available)
        {
            ElfFile elf = ElfFile.Read(path);
            var report = new VersionNeedReport();
            var toPatch = new List<VersionNeedAux>();
            foreach (VersionNeedAux need in elf.VersionNeeds().Where(n => n.File == LibraryName && !available.Contains(n.Name)))
            {
                List<string> users = elf.SymbolsRelocatedWithVersion(need.Index);
                if (users.Count > 0)
                {
                    report.Referenced[need.Name] = users;
                }
                else
                {
                    report.Relaxed.Add(need.Name);
                    if ((need.Flags & VerFlagWeak) == 0)
                    {
                        toPatch.Add(need);
                    }
                }
            }
            if (report.Referenced.Count > 0 || toPatch.Count == 0)
            {
                return report;
            }

            string temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".",
                "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
            try
            {
                // File.Copy keeps the file mode; the rename then swaps the new inode in atomically.
                File.Copy(path, temp, overwrite: true);
                using (var stream = new FileStream(temp, FileMode.Open, FileAccess.Write))
                {
                    foreach (VersionNeedAux need in toPatch)
                    {
                        ushort flags = (ushort)(need.Flags | VerFlagWeak);
                        stream.Position = need.FlagsOffset;
                        stream.WriteByte((byte)(flags & 0xff));
                        stream.WriteByte((byte)(flags >> 8));
                    }
                }
                File.Replace(temp, path, null);
            }
            finally
            {
                if (File.Exists(temp))
                {
                    File.Delete(temp);
                }
            }
            report.Rewritten = true;
            return report;
        }
    }

    /// <summary>Finds the libstdc++ that programs started like this one load.</summary>
    internal static class LibStdCxxLocator
    {
        private static readonly string[] StandardDirectories =
        {
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
            "/lib64", "/usr/lib64", "/lib", "/usr/lib",
        };

        /// <summary>
        /// The .NET runtime links libstdc++, so the copy mapped into this very process is the one the
        /// application will get; the loader's search path is only the fallback.
        /// </summary>
        public static string? Find()
        {
            const string maps = "/proc/self/maps";
            if (File.Exists(maps))
            {
                foreach (string line in File.ReadLines(maps))
                {
                    int slash = line.IndexOf('/');
                    if (slash >= 0 && Path.GetFileName(line.Substring(slash)).StartsWith(LibStdCxxVersionNeeds.LibraryName, StringComparison.Ordinal))
                    {
                        return line.Substring(slash).Trim();
                    }
                }
            }
            string ldPath = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "";
            return ldPath.Split(new[] { ':' }, StringSplitOptions.RemoveEmptyEntries)
                .Concat(StandardDirectories)
                .Select(d => Path.Combine(d, LibStdCxxVersionNeeds.LibraryName))
                .FirstOrDefault(File.Exists);
        }
    }

#endif

    /// <summary>The format is wrong or unsupported.</summary>
    internal sealed class ElfFormatException : IOException
    {
        public ElfFormatException(string message) : base(message) { }
    }

    /// <summary>One version need (Elf64_Vernaux) and where its flags sit in the file.</summary>
    internal sealed class VersionNeedAux
    {
        public VersionNeedAux(string file, string name, ushort index, ushort flags, int flagsOffset)
        {
            File = file; Name = name; Index = index; Flags = flags; FlagsOffset = flagsOffset;
        }

        public string File { get; }
        public string Name { get; }
        public ushort Index { get; }
        public ushort Flags { get; }
        public int FlagsOffset { get; }
    }

    /// <summary>
    /// The parts of a little-endian ELF64 shared object that symbol versioning needs, read from the
    /// section headers: .gnu.version_r/_d, .gnu.version, .dynsym and the relocation sections.
    /// </summary>
    internal sealed class ElfFile
    {
        private const uint ShtRela = 4, ShtDynsym = 11, ShtRel = 9, ShtDynamic = 6;
        private const long DtNeeded = 1;
        private const uint ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;

        private readonly Section[] _sections;

        private ElfFile(byte[] bytes, Section[] sections)
        {
            Bytes = bytes;
            _sections = sections;
        }

        public byte[] Bytes { get; }

        public static ElfFile Read(string path)
        {
            byte[] b = File.ReadAllBytes(path);
            if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
            {
                throw new ElfFormatException("not an ELF file");
            }
            if (b[4] != 2 || b[5] != 1)
            {
                throw new ElfFormatException("only little-endian 64-bit ELF is supported");
            }
            long shoff = (long)BitConverter.ToUInt64(b, 0x28);
            int shentsize = BitConverter.ToUInt16(b, 0x3a);
            int shnum = BitConverter.ToUInt16(b, 0x3c);
            if (shoff == 0 || shnum == 0)
            {
                throw new ElfFormatException("no section headers (stripped with sstrip?)");
            }
            if (shentsize < 64 || shoff < 0 || shoff + (long)shentsize * shnum > b.Length)
            {
                throw new ElfFormatException("section header table lies outside the file");
            }
            var sections = new Section[shnum];
            for (int i = 0; i < shnum; i++)
            {
                int h = checked((int)(shoff + (long)i * shentsize));
                var s = new Section(
                    type: BitConverter.ToUInt32(b, h + 4),
                    offset: (long)BitConverter.ToUInt64(b, h + 24),
                    size: (long)BitConverter.ToUInt64(b, h + 32),
                    link: BitConverter.ToUInt32(b, h + 40),
                    info: BitConverter.ToUInt32(b, h + 44),
                    entsize: (long)BitConverter.ToUInt64(b, h + 56));
                if (s.Type != 8 /* NOBITS */ && (s.Offset < 0 || s.Size < 0 || s.Offset + s.Size > b.Length))
                {
                    throw new ElfFormatException("section " + i + " lies outside the file");
                }
                sections[i] = s;
            }
            return new ElfFile(b, sections);
        }

        /// <summary>
        /// The libraries <paramref name="path"/> names as DT_NEEDED, in file order: what the dynamic loader
        /// looks for when it is loaded. Reads the header, the section headers, the dynamic section and its
        /// string table only, so a 284 MB provider library costs a few reads.
        /// </summary>
        public static List<string> Needed(string path)
        {
            using (FileStream file = File.OpenRead(path))
            {
                byte[] header = ReadAt(file, path, 0, 64, "is not an ELF file");
                if (header[0] != 0x7f || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F')
                {
                    throw new ElfFormatException("'" + path + "' is not an ELF file.");
                }
                if (header[4] != 2 || header[5] != 1)
                {
                    throw new ElfFormatException("'" + path + "' is not a little-endian 64-bit ELF file.");
                }
                long sectionsAt = BitConverter.ToInt64(header, 0x28);
                int entrySize = BitConverter.ToUInt16(header, 0x3a);
                int count = BitConverter.ToUInt16(header, 0x3c);
                if (entrySize < 64 || sectionsAt <= 0 || sectionsAt + (long)entrySize * count > file.Length)
                {
                    throw new ElfFormatException("'" + path + "' has section headers outside the file.");
                }
                byte[] sections = ReadAt(file, path, sectionsAt, entrySize * count, "points outside itself");
                for (int i = 0; i < count; i++)
                {
                    int h = i * entrySize;
                    if (BitConverter.ToUInt32(sections, h + 4) != ShtDynamic)
                    {
                        continue;
                    }
                    byte[] dynamic = ReadAt(file, path, BitConverter.ToInt64(sections, h + 0x18), checked((int)BitConverter.ToInt64(sections, h + 0x20)), "points outside itself");
                    int link = (int)BitConverter.ToUInt32(sections, h + 0x28);
                    if (link >= count)
                    {
                        throw new ElfFormatException("'" + path + "' links its dynamic section to a missing string table.");
                    }
                    int t = link * entrySize;
                    byte[] strings = ReadAt(file, path, BitConverter.ToInt64(sections, t + 0x18), checked((int)BitConverter.ToInt64(sections, t + 0x20)), "points outside itself");
                    var needed = new List<string>();
                    for (int at = 0; at + 16 <= dynamic.Length; at += 16)
                    {
                        long tag = BitConverter.ToInt64(dynamic, at);
                        if (tag == 0)
                        {
                            break;
                        }
                        if (tag == DtNeeded)
                        {
                            long offset = BitConverter.ToInt64(dynamic, at + 8);
                            if (offset < 0 || offset >= strings.Length)
                            {
                                throw new ElfFormatException("'" + path + "' names a needed library outside its string table.");
                            }
                            int end = Array.IndexOf(strings, (byte)0, (int)offset);
                            needed.Add(System.Text.Encoding.UTF8.GetString(strings, (int)offset, (end < 0 ? strings.Length : end) - (int)offset));
                        }
                    }
                    return needed;
                }
                return new List<string>();
            }
        }

        private static byte[] ReadAt(FileStream file, string path, long offset, int length, string problem)
        {
            if (offset < 0 || length < 0 || offset + length > file.Length)
            {
                throw new ElfFormatException("'" + path + "' " + problem + " (" + offset + "+" + length + " of " + file.Length + " bytes).");
            }
            var bytes = new byte[length];
            file.Position = offset;
            int read = 0;
            while (read < length)
            {
                int n = file.Read(bytes, read, length - read);
                if (n == 0)
                {
                    throw new ElfFormatException("'" + path + "' ended early.");
                }
                read += n;
            }
            return bytes;
        }

        /// <summary>Every version need, with the file it is needed from.</summary>
        public List<VersionNeedAux> VersionNeeds()
        {
            var result = new List<VersionNeedAux>();
            foreach (Section s in _sections.Where(x => x.Type == ShtGnuVerneed))
            {
                Section strings = SectionAt(s.Link);
                long at = s.Offset;
                for (uint n = 0; n < s.Info; n++)
                {
                    ushort count = U16(at + 2);
                    string file = String(strings, U32(at + 4));
                    long aux = at + U32(at + 8);
                    for (int a = 0; a < count; a++)
                    {
                        result.Add(new VersionNeedAux(file, String(strings, U32(aux + 8)), U16(aux + 6), U16(aux + 4), checked((int)(aux + 4))));
                        aux += U32(aux + 12);
                    }
                    uint next = U32(at + 12);
                    if (next == 0)
                    {
                        break;
                    }
                    at += next;
                }
            }
            return result;
        }

        /// <summary>The names of the versions this library defines (its base entry excluded).</summary>
        public HashSet<string> VersionDefinitions()
        {
            var result = new HashSet<string>(StringComparer.Ordinal);
            foreach (Section s in _sections.Where(x => x.Type == ShtGnuVerdef))
            {
                Section strings = SectionAt(s.Link);
                long at = s.Offset;
                for (uint n = 0; n < s.Info; n++)
                {
                    bool isBase = (U16(at + 2) & 0x1) != 0;
                    if (!isBase && U16(at + 6) > 0)
                    {
                        result.Add(String(strings, U32(at + U32(at + 12))));
                    }
                    uint next = U32(at + 16);
                    if (next == 0)
                    {
                        break;
                    }
                    at += next;
                }
            }
            return result;
        }

        /// <summary>Names of the dynamic symbols of version <paramref name="versionIndex"/> that some relocation refers to.</summary>
        public List<string> SymbolsRelocatedWithVersion(ushort versionIndex)
        {
            var names = new SortedSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < _sections.Length; i++)
            {
                Section dynsym = _sections[i];
                if (dynsym.Type != ShtDynsym)
                {
                    continue;
                }
                Section? versym = _sections.FirstOrDefault(x => x.Type == ShtGnuVersym && x.Link == i);
                if (versym == null)
                {
                    continue;
                }
                Section strings = SectionAt(dynsym.Link);
                long symbolCount = dynsym.Size / 24;
                foreach (Section rel in _sections.Where(x => (x.Type == ShtRela || x.Type == ShtRel) && x.Link == i))
                {
                    long entry = rel.Type == ShtRela ? 24 : 16;
                    for (long at = rel.Offset; at + entry <= rel.Offset + rel.Size; at += entry)
                    {
                        long symbol = (long)(BitConverter.ToUInt64(Bytes, checked((int)(at + 8))) >> 32);
                        if (symbol == 0 || symbol >= symbolCount || versym.Offset + 2 * symbol + 2 > versym.Offset + versym.Size)
                        {
                            continue;
                        }
                        if ((U16(versym.Offset + 2 * symbol) & 0x7fff) == versionIndex)
                        {
                            names.Add(String(strings, U32(dynsym.Offset + 24 * symbol)));
                        }
                    }
                }
            }
            return names.ToList();
        }

        private Section SectionAt(uint index)
        {
            if (index >= _sections.Length)
            {
                throw new ElfFormatException("section link " + index + " out of range");
            }
            return _sections[index];
        }

        private ushort U16(long at) => BitConverter.ToUInt16(Bytes, Checked(at, 2));

        private uint U32(long at) => BitConverter.ToUInt32(Bytes, Checked(at, 4));

        private int Checked(long at, int length)
        {
            if (at < 0 || at + length > Bytes.Length)
            {
                throw new ElfFormatException("offset " + at + " lies outside the file");
            }
            return (int)at;
        }

        private string String(Section table, uint offset)
        {
            long start = table.Offset + offset;
            long end = start;
            while (end < table.Offset + table.Size && Bytes[Checked(end, 1)] != 0)
            {
                end++;
            }
            return System.Text.Encoding.ASCII.GetString(Bytes, Checked(start, 0), (int)(end - start));
        }

        private sealed class Section
        {
            public Section(uint type, long offset, long size, uint link, uint info, long entsize)
            {
                Type = type; Offset = offset; Size = size; Link = link; Info = info; EntrySize = entsize;
            }

            public uint Type { get; }
            public long Offset { get; }
            public long Size { get; }
            public uint Link { get; }
            public uint Info { get; }
            public long EntrySize { get; }
        }
    }
}
