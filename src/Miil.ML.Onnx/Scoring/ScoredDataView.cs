using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.Onnx.Scoring;

/// <summary>The input with Score and PredictedLabels appended; scoring happens batch by batch as cursors move.</summary>
internal sealed class ScoredDataView(ImageScoringTransformer owner, IDataView input, DataViewSchema schema) : IDataView
{
    public bool CanShuffle => false;

    public DataViewSchema Schema => schema;

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        => new ScoredCursor(owner, input, schema, columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];
}

/// <summary>
/// Moves a cursor over the input for the pass-through columns and, when scores are wanted, a
/// second one over the image column that reads ahead: both see the rows in the same order, so batch
/// row k is the main cursor's row at the same position. Batches read ahead are preprocessed and scored
/// on workers, a few at a time (the pipeline's depth), and served in order: decoding overlaps
/// inference, and small batches score side by side on the cores as ML.NET's own parallel cursors would.
/// A worker takes several small batches at once (<see cref="ImageScoringOptions.BatchesPerTask"/>): one
/// hand-over between threads per image cost more than a tiny model's inference.
/// </summary>
internal sealed class ScoredCursor : DataViewRowCursor
{
    private readonly ImageScoringTransformer _owner;
    private readonly DataViewRowCursor _main;
    private readonly DataViewRowCursor? _ahead;
    private readonly ValueGetter<ReadOnlyMemory<char>>? _path;
    private readonly ValueGetter<MLImage>? _image;
    private readonly int _inputColumns;
    private readonly int _classes;
    private readonly bool[] _active;
    private readonly int _depth;
    private readonly Queue<(long Start, Task<(float[] Scores, bool[] Decisions, int Rows)> Scored)> _inFlight = new();

    private bool _inputDone;
    private long _rowsRead;
    private float[] _scores = [];
    private bool[] _decisions = [];
    private long _batchStart;
    private int _batchCount;
    private long _position = -1;

    public ScoredCursor(ImageScoringTransformer owner, IDataView input, DataViewSchema schema, IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        _owner = owner;
        Schema = schema;
        _inputColumns = input.Schema.Count;
        _classes = owner.Model.ClassNames.Count;
        _depth = owner.Options.EffectiveParallelBatches;
        _active = new bool[schema.Count];
        foreach (DataViewSchema.Column c in columnsNeeded)
        {
            _active[c.Index] = true;
        }
        bool scoring = _active[_inputColumns] || _active[_inputColumns + 1];
        _main = input.GetRowCursor(input.Schema.Where(c => _active[c.Index]));
        if (scoring)
        {
            DataViewSchema.Column image = input.Schema[owner.Options.ImageColumnName];
            _ahead = input.GetRowCursor([image]);
            if (image.Type is TextDataViewType)
            {
                _path = _ahead.GetGetter<ReadOnlyMemory<char>>(image);
            }
            else
            {
                _image = _ahead.GetGetter<MLImage>(image);
            }
        }
    }

    public override DataViewSchema Schema { get; }

    public override long Position => _position;

    public override long Batch => _main.Batch;

    public override bool MoveNext()
    {
        if (!_main.MoveNext())
        {
            return false;
        }
        _position++;
        if (_ahead is not null && _position >= _batchStart + _batchCount)
        {
            NextBatch();
        }
        return true;
    }

    /// <summary>Serves the next scored batch, keeping the pipeline filled behind it.</summary>
    private void NextBatch()
    {
        Fill();
        if (_inFlight.Count == 0)
        {
            throw new InvalidOperationException($"Scoring row {_position}: the image column ended before the other columns.");
        }
        (long start, Task<(float[] Scores, bool[] Decisions, int Rows)> scored) = _inFlight.Dequeue();
        _batchStart = start;
        try
        {
            (_scores, _decisions, _batchCount) = scored.GetAwaiter().GetResult();
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"Scoring rows from {start} (batches of {_owner.BatchSize}): {e.Message}", e);
        }
        Fill();
    }

    /// <summary>Reads batches from the look-ahead cursor (on this thread: cursors are not thread-safe) and starts scoring each on a worker.</summary>
    private void Fill()
    {
        while (!_inputDone && _inFlight.Count < _depth)
        {
            long start = _rowsRead;
            Func<(float[], bool[], int)>? score = ReadBatch();
            if (score is null)
            {
                _inputDone = true;
                break;
            }
            _inFlight.Enqueue((start, Task.Run(score)));
        }
    }

    /// <summary>
    /// Reads up to a batch of rows from the look-ahead cursor and returns the work that scores them,
    /// or null at the end. Images are copied as they are read: upstream transforms may dispose one
    /// when their cursor moves on.
    /// </summary>
    private Func<(float[], bool[], int)>? ReadBatch()
    {
        int size = _owner.BatchSize * _owner.Options.BatchesPerTask;
        if (_path is not null)
        {
            var paths = new List<string>(size);
            ReadOnlyMemory<char> path = default;
            while (paths.Count < size && _ahead!.MoveNext())
            {
                _path(ref path);
                paths.Add(path.ToString());
            }
            Done(paths.Count, size);
            return paths.Count == 0 ? null : () => ScoreInBatches(paths, (scorer, part) => scorer.Prepare(part));
        }

        var images = new List<MLImage>(size);
        try
        {
            MLImage image = null!;
            while (images.Count < size && _ahead!.MoveNext())
            {
                _image!(ref image);
                images.Add(image is null
                    ? throw new InvalidOperationException($"Row {_rowsRead + images.Count} has no image.")
                    : MLImage.CreateFromPixels(image.Width, image.Height, image.PixelFormat, image.Pixels));
            }
        }
        catch
        {
            Dispose(images);
            throw;
        }
        Done(images.Count, size);
        if (images.Count == 0)
        {
            return null;
        }
        return () =>
        {
            try
            {
                return ScoreInBatches(images, (scorer, part) => scorer.Prepare(part));
            }
            finally
            {
                Dispose(images);
            }
        };
    }

    /// <summary>
    /// Scores the rows one ONNX Runtime call per <see cref="ImageScoringTransformer.BatchSize"/> rows; the
    /// calls' row-major outputs laid end to end are the rows' outputs in order.
    /// </summary>
    private (float[] Scores, bool[] Decisions, int Rows) ScoreInBatches<TRow>(List<TRow> rows, Func<OnnxImageScorer, IReadOnlyList<TRow>, PreparedBatch> prepare)
    {
        OnnxImageScorer scorer = _owner.Scorer;
        int size = _owner.BatchSize;
        if (rows.Count <= size)
        {
            using PreparedBatch batch = prepare(scorer, rows);
            (float[] scores, bool[] decisions) = scorer.Run(batch);
            return (scores, decisions, rows.Count);
        }
        var allScores = new float[rows.Count * _classes];
        var allDecisions = new bool[rows.Count * _classes];
        for (int start = 0; start < rows.Count; start += size)
        {
            using PreparedBatch batch = prepare(scorer, rows.GetRange(start, Math.Min(size, rows.Count - start)));
            (float[] scores, bool[] decisions) = scorer.Run(batch);
            scores.CopyTo(allScores, start * _classes);
            decisions.CopyTo(allDecisions, start * _classes);
        }
        return (allScores, allDecisions, rows.Count);
    }

    /// <summary>Counts rows read; fewer than asked for means the input ended.</summary>
    private void Done(int rows, int asked)
    {
        _rowsRead += rows;
        _inputDone |= rows < asked;
    }

    private static void Dispose(List<MLImage> images)
    {
        foreach (MLImage copy in images)
        {
            copy.Dispose();
        }
    }

    public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        if (column.Index < _inputColumns)
        {
            return _main.GetGetter<TValue>(_main.Schema[column.Index]);
        }
        Func<int> row = () => checked((int)(_position - _batchStart));
        return column.Index == _inputColumns
            ? RowSlices.Getter<TValue, float>(() => _scores, row, _classes)
            : RowSlices.Getter<TValue, bool>(() => _decisions, row, _classes);
    }

    public override ValueGetter<DataViewRowId> GetIdGetter() => _main.GetIdGetter();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // Batches read ahead that nobody will serve: let them finish (their buffers and image copies go back as they do).
            while (_inFlight.Count > 0)
            {
                try
                {
                    _inFlight.Dequeue().Scored.GetAwaiter().GetResult();
                }
                catch (InvalidOperationException)
                {
                }
            }
            _main.Dispose();
            _ahead?.Dispose();
        }
        base.Dispose(disposing);
    }
}
