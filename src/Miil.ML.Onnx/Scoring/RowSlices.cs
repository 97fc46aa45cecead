using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.Onnx.Scoring;

/// <summary>Getters that serve one row of a row-major N x C result as a vector column value.</summary>
internal static class RowSlices
{
    /// <summary>
    /// A getter of row <c>row()</c> of the array <c>source()</c> (both read at call time: batches
    /// change under a cursor), cast to the getter type ML.NET asked for.
    /// </summary>
    public static ValueGetter<TValue> Getter<TValue, T>(Func<T[]> source, Func<int> row, int classes, Action? before = null)
    {
        ValueGetter<VBuffer<T>> getter = (ref VBuffer<T> value) =>
        {
            before?.Invoke();
            var editor = VBufferEditor.Create(ref value, classes);
            source().AsSpan(row() * classes, classes).CopyTo(editor.Values);
            value = editor.Commit();
        };
        return (ValueGetter<TValue>)(Delegate)getter;
    }
}
