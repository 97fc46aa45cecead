using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.Onnx.Scoring;

/// <summary>Row-at-a-time scoring for PredictionEngine: a batch of one, computed when a score is first read for a row.</summary>
internal sealed class ScoringRowMapper(ImageScoringTransformer owner, DataViewSchema inputSchema, DataViewSchema outputSchema) : IRowToRowMapper
{
    public DataViewSchema InputSchema => inputSchema;

    public DataViewSchema OutputSchema => outputSchema;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var needed = new HashSet<int>();
        foreach (DataViewSchema.Column c in dependingColumns)
        {
            needed.Add(c.Index < inputSchema.Count ? c.Index : inputSchema[owner.Options.ImageColumnName].Index);
        }
        return needed.Order().Select(i => inputSchema[i]).ToList();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
        => new ScoredRow(owner, input, outputSchema, activeColumns);

    private sealed class ScoredRow : DataViewRow
    {
        private readonly ImageScoringTransformer _owner;
        private readonly DataViewRow _input;
        private readonly bool[] _active;
        private readonly int _inputColumns;
        private long _scoredPosition = -1;
        private float[] _scores = [];
        private bool[] _decisions = [];

        public ScoredRow(ImageScoringTransformer owner, DataViewRow input, DataViewSchema schema, IEnumerable<DataViewSchema.Column> activeColumns)
        {
            _owner = owner;
            _input = input;
            Schema = schema;
            _inputColumns = input.Schema.Count;
            _active = new bool[schema.Count];
            foreach (DataViewSchema.Column c in activeColumns)
            {
                _active[c.Index] = true;
            }
        }

        public override DataViewSchema Schema { get; }

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < _inputColumns)
            {
                return _input.GetGetter<TValue>(_input.Schema[column.Index]);
            }
            int classes = _owner.Model.ClassNames.Count;
            DataViewSchema.Column imageColumn = _input.Schema[_owner.Options.ImageColumnName];
            Func<(float[], bool[])> score = imageColumn.Type is TextDataViewType
                ? ScorePath(_input.GetGetter<ReadOnlyMemory<char>>(imageColumn))
                : ScoreImage(_input.GetGetter<MLImage>(imageColumn));
            void Ensure()
            {
                if (_scoredPosition == _input.Position)
                {
                    return;
                }
                (_scores, _decisions) = score();
                _scoredPosition = _input.Position;
            }
            return column.Index == _inputColumns
                ? RowSlices.Getter<TValue, float>(() => _scores, () => 0, classes, Ensure)
                : RowSlices.Getter<TValue, bool>(() => _decisions, () => 0, classes, Ensure);
        }

        private Func<(float[], bool[])> ScorePath(ValueGetter<ReadOnlyMemory<char>> path) => () =>
        {
            ReadOnlyMemory<char> value = default;
            path(ref value);
            return _owner.Scorer.Score([value.ToString()]);
        };

        private Func<(float[], bool[])> ScoreImage(ValueGetter<MLImage> image) => () =>
        {
            MLImage value = null!;
            image(ref value);
            return _owner.Scorer.Score([value ?? throw new InvalidOperationException($"Row {_input.Position} has no image.")]);
        };
    }
}
