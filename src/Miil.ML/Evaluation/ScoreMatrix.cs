using System.Globalization;
using System.Runtime.Intrinsics;

namespace Miil.ML.Evaluation;

/// <summary>
/// Scores (float), labels (1 / 0 / -1 as one byte each) and optional decisions of N rows x C
/// classes, row-major, in blocks of rows held in pinned arrays. Blocks let a data view of unknown
/// length be read without ever copying what was read (growing one array would briefly hold it twice
/// or more), and one byte per label keeps 100,000 x 9,605 at about 5 GB instead of 8.
/// </summary>
internal sealed class ScoreMatrix
{
    private readonly List<Block> _blocks = [];

    private ScoreMatrix(int columns, int blockRows, bool withDecisions)
    {
        Columns = columns;
        BlockRows = blockRows;
        WithDecisions = withDecisions;
    }

    public int Columns { get; }

    public int Rows { get; private set; }

    public int BlockRows { get; }

    public bool WithDecisions { get; }

    public IReadOnlyList<Block> Blocks => _blocks;

    /// <summary>One block of rows; the arrays are pinned, so their addresses hold for the parallel workers.</summary>
    internal sealed class Block(int firstRow, int capacity, int columns, bool withDecisions)
    {
        public readonly int FirstRow = firstRow;
        public readonly float[] Scores = GC.AllocateUninitializedArray<float>(capacity * columns, pinned: true);
        public readonly sbyte[] Labels = GC.AllocateUninitializedArray<sbyte>(capacity * columns, pinned: true);
        public readonly bool[]? Decisions = withDecisions ? GC.AllocateUninitializedArray<bool>(capacity * columns, pinned: true) : null;

        public int Rows { get; set; }
    }

    /// <summary>A matrix for rows appended one at a time.</summary>
    public static ScoreMatrix Create(int columns, bool withDecisions, long? expectedRows = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        // About 4 MB of scores per block, whole rows, at least one row.
        int blockRows = (int)Math.Clamp(expectedRows ?? long.MaxValue, 1, Math.Max(1, (1 << 20) / columns));
        return new ScoreMatrix(columns, blockRows, withDecisions);
    }

    /// <summary>The matrix of row-major spans (copied).</summary>
    public static ScoreMatrix From(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels, ReadOnlySpan<bool> decisions, int columns, string labelSource)
    {
        var matrix = Create(columns, !decisions.IsEmpty, scores.Length / columns);
        for (int row = 0; row < scores.Length / columns; row++)
        {
            Range r = (row * columns)..((row + 1) * columns);
            matrix.Add(scores[r], labels[r], decisions.IsEmpty ? default : decisions[r], labelSource);
        }
        return matrix;
    }

    /// <summary>Whether every label is 1, 0 or -1 (NaN is not), eight at a time where the processor can.</summary>
    private static bool AllLabelsValid(ReadOnlySpan<float> labels)
    {
        int c = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> one = Vector256<float>.One, zero = Vector256<float>.Zero, minusOne = -Vector256<float>.One;
            for (; c + 8 <= labels.Length; c += 8)
            {
                Vector256<float> v = Vector256.Create(labels.Slice(c, 8));
                if (!Vector256.EqualsAll((Vector256.Equals(v, one) | Vector256.Equals(v, zero) | Vector256.Equals(v, minusOne)).AsUInt32(), Vector256<uint>.AllBitsSet))
                {
                    return false;
                }
            }
        }
        for (; c < labels.Length; c++)
        {
            if (labels[c] != 1 && labels[c] != 0 && labels[c] != -1)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Appends a row; labels other than 1, 0 and -1 are refused, naming the row and class.</summary>
    public void Add(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels, ReadOnlySpan<bool> decisions, string labelSource)
    {
        if (_blocks.Count == 0 || _blocks[^1].Rows == BlockRows)
        {
            _blocks.Add(new Block(Rows, BlockRows, Columns, WithDecisions));
        }
        Block block = _blocks[^1];
        int at = block.Rows * Columns;
        scores.CopyTo(block.Scores.AsSpan(at, Columns));
        Span<sbyte> row = block.Labels.AsSpan(at, Columns);
        if (!AllLabelsValid(labels))
        {
            for (int c = 0; c < Columns; c++)
            {
                float y = labels[c];
                if (y != 1 && y != 0 && y != -1)
                {
                    throw new ArgumentException(
                        $"{labelSource}: label of row {Rows}, class {c} is {y.ToString(CultureInfo.InvariantCulture)}; labels must be 1 (positive), 0 (negative) or -1 (ignored).",
                        "labels");
                }
            }
        }
        for (int c = 0; c < Columns; c++)
        {
            row[c] = (sbyte)labels[c];
        }
        if (WithDecisions)
        {
            decisions.CopyTo(block.Decisions.AsSpan(at, Columns));
        }
        block.Rows++;
        Rows++;
    }
}
