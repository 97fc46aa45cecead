using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Miil.ML.TorchSharp.Numerics;

/// <summary>
/// The operations a per-element kernel needs on a SIMD vector <typeparamref name="TV"/> of
/// <typeparamref name="T"/>, so that one generic formula compiles to AVX-512 where the processor
/// has it and to <see cref="Vector{T}"/> (usually 256 bits) elsewhere. Arithmetic comes through
/// the interface too: the vector types' operators are not reachable through generic constraints.
/// </summary>
internal interface ISimdLanes<TV, T>
    where TV : struct
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    /// <summary>Whether this width runs on hardware here.</summary>
    static abstract bool IsAccelerated { get; }

    static abstract TV Load(ReadOnlySpan<T> source);

    static abstract TV Add(TV a, TV b);

    static abstract TV Subtract(TV a, TV b);

    static abstract TV Multiply(TV a, TV b);

    static abstract TV Divide(TV a, TV b);

    static abstract TV Negate(TV a);

    static abstract TV Or(TV a, TV b);

    static abstract TV And(TV a, TV b);

    /// <summary>a with the lanes of <paramref name="mask"/> cleared.</summary>
    static abstract TV AndNot(TV a, TV mask);

    static abstract void Store(TV value, Span<T> destination);

    static abstract TV Broadcast(T value);

    /// <summary>All-ones lanes where a == b.</summary>
    static abstract TV Equal(TV a, TV b);

    static abstract TV Greater(TV a, TV b);

    static abstract TV GreaterOrEqual(TV a, TV b);

    /// <summary>Lanes of <paramref name="whenSet"/> where <paramref name="mask"/> is set, else of <paramref name="otherwise"/>.</summary>
    static abstract TV Select(TV mask, TV whenSet, TV otherwise);

    static abstract TV Exp(TV v);

    static abstract TV Log(TV v);

    /// <summary>Each lane rounded to the nearest integer (ties to even).</summary>
    static abstract TV RoundToInteger(TV v);

    /// <summary><c>v x 2^k</c> for lanes of <paramref name="k"/> holding integers in the normal exponent range.</summary>
    static abstract TV ScaleByPowerOfTwo(TV v, TV k);

    /// <summary>For positive normal lanes, the mantissa in [0.5, 1) and the exponent (as a number) with v = mantissa x 2^exponent.</summary>
    static abstract (TV Mantissa, TV Exponent) Decompose(TV v);

    /// <summary>Whether every lane of a comparison mask is set (masks read as NaN, so bits are compared).</summary>
    static abstract bool AllSet(TV mask);

    /// <summary>How many lanes of a comparison mask are set.</summary>
    static abstract int CountSet(TV mask);

    /// <summary>The sum of the lanes, added in double.</summary>
    static abstract double SumAsDouble(TV v);
}

/// <summary><see cref="ISimdLanes{TV, T}"/> on 512-bit vectors (AVX-512).</summary>
internal readonly struct Lanes512<T> : ISimdLanes<Vector512<T>, T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector512<T>.Count;

    public static bool IsAccelerated => Vector512.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Load(ReadOnlySpan<T> source) => Vector512.Create(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Add(Vector512<T> a, Vector512<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Subtract(Vector512<T> a, Vector512<T> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Multiply(Vector512<T> a, Vector512<T> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Divide(Vector512<T> a, Vector512<T> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Negate(Vector512<T> a) => -a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Or(Vector512<T> a, Vector512<T> b) => a | b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> And(Vector512<T> a, Vector512<T> b) => a & b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> AndNot(Vector512<T> a, Vector512<T> mask) => Vector512.AndNot(a, mask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<T> value, Span<T> destination) => value.CopyTo(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Broadcast(T value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Equal(Vector512<T> a, Vector512<T> b) => Vector512.Equals(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Greater(Vector512<T> a, Vector512<T> b) => Vector512.GreaterThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> GreaterOrEqual(Vector512<T> a, Vector512<T> b) => Vector512.GreaterThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Select(Vector512<T> mask, Vector512<T> whenSet, Vector512<T> otherwise) => Vector512.ConditionalSelect(mask, whenSet, otherwise);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp(Vector512<T> v) => typeof(T) == typeof(float)
        ? FloatPolynomials.Exp<Vector512<float>, Lanes512<float>>(v.As<T, float>()).As<float, T>()
        : Vector512.Exp(v.As<T, double>()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Log(Vector512<T> v) => typeof(T) == typeof(float)
        ? FloatPolynomials.Log<Vector512<float>, Lanes512<float>>(v.As<T, float>()).As<float, T>()
        : Vector512.Log(v.As<T, double>()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> RoundToInteger(Vector512<T> v) => typeof(T) == typeof(float)
        ? Vector512.Round(v.As<T, float>()).As<float, T>()
        : Vector512.Round(v.As<T, double>()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> ScaleByPowerOfTwo(Vector512<T> v, Vector512<T> k) => typeof(T) == typeof(float)
        ? (v.As<T, float>() * ((Vector512.ConvertToInt32(k.As<T, float>()) + Vector512.Create(127)) << 23).As<int, float>()).As<float, T>()
        : (v.As<T, double>() * ((Vector512.ConvertToInt64(k.As<T, double>()) + Vector512.Create(1023L)) << 52).As<long, double>()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<T> Mantissa, Vector512<T> Exponent) Decompose(Vector512<T> v)
    {
        if (typeof(T) == typeof(float))
        {
            Vector512<int> bits = v.As<T, int>();
            Vector512<float> exponent = Vector512.ConvertToSingle((bits >>> 23) - Vector512.Create(126));
            Vector512<float> mantissa = ((bits & Vector512.Create(0x007F_FFFF)) | Vector512.Create(0x3F00_0000)).As<int, float>();
            return (mantissa.As<float, T>(), exponent.As<float, T>());
        }
        Vector512<long> wide = v.As<T, long>();
        Vector512<double> e = Vector512.ConvertToDouble((wide >>> 52) - Vector512.Create(1022L));
        Vector512<double> m = ((wide & Vector512.Create(0x000F_FFFF_FFFF_FFFFL)) | Vector512.Create(0x3FE0_0000_0000_0000L)).As<long, double>();
        return (m.As<double, T>(), e.As<double, T>());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AllSet(Vector512<T> mask) => mask.ExtractMostSignificantBits() == (Vector512<T>.Count == 64 ? ulong.MaxValue : (1UL << Vector512<T>.Count) - 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CountSet(Vector512<T> mask) => BitOperations.PopCount(mask.ExtractMostSignificantBits());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumAsDouble(Vector512<T> v)
    {
        if (typeof(T) == typeof(double))
        {
            return Vector512.Sum(v.As<T, double>());
        }
        (Vector512<double> low, Vector512<double> high) = Vector512.Widen(v.As<T, float>());
        return Vector512.Sum(low + high);
    }
}

/// <summary><see cref="ISimdLanes{TV, T}"/> on <see cref="Vector{T}"/>, the width the runtime prefers (AVX2: 256 bits).</summary>
internal readonly struct LanesNative<T> : ISimdLanes<Vector<T>, T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector<T>.Count;

    public static bool IsAccelerated => Vector.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Load(ReadOnlySpan<T> source) => new(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Add(Vector<T> a, Vector<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Subtract(Vector<T> a, Vector<T> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Multiply(Vector<T> a, Vector<T> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Divide(Vector<T> a, Vector<T> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Negate(Vector<T> a) => -a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Or(Vector<T> a, Vector<T> b) => a | b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> And(Vector<T> a, Vector<T> b) => a & b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> AndNot(Vector<T> a, Vector<T> mask) => Vector.AndNot(a, mask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector<T> value, Span<T> destination) => value.CopyTo(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Broadcast(T value) => new(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Equal(Vector<T> a, Vector<T> b) => Vector.Equals(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Greater(Vector<T> a, Vector<T> b) => Vector.GreaterThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> GreaterOrEqual(Vector<T> a, Vector<T> b) => Vector.GreaterThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Select(Vector<T> mask, Vector<T> whenSet, Vector<T> otherwise) => Vector.ConditionalSelect(mask, whenSet, otherwise);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Exp(Vector<T> v) => typeof(T) == typeof(float)
        ? FloatPolynomials.Exp<Vector<float>, LanesNative<float>>(v.As<T, float>()).As<float, T>()
        : Vector.Exp(v.As<T, double>()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Log(Vector<T> v) => typeof(T) == typeof(float)
        ? FloatPolynomials.Log<Vector<float>, LanesNative<float>>(v.As<T, float>()).As<float, T>()
        : Vector.Log(v.As<T, double>()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> RoundToInteger(Vector<T> v) => typeof(T) == typeof(float)
        ? Vector.Round(v.As<T, float>()).As<float, T>()
        : Vector.Round(v.As<T, double>()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> ScaleByPowerOfTwo(Vector<T> v, Vector<T> k) => typeof(T) == typeof(float)
        ? (v.As<T, float>() * Vector.ShiftLeft(Vector.ConvertToInt32(k.As<T, float>()) + new Vector<int>(127), 23).As<int, float>()).As<float, T>()
        : (v.As<T, double>() * Vector.ShiftLeft(Vector.ConvertToInt64(k.As<T, double>()) + new Vector<long>(1023L), 52).As<long, double>()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector<T> Mantissa, Vector<T> Exponent) Decompose(Vector<T> v)
    {
        if (typeof(T) == typeof(float))
        {
            Vector<int> bits = v.As<T, int>();
            Vector<float> exponent = Vector.ConvertToSingle(Vector.ShiftRightLogical(bits, 23) - new Vector<int>(126));
            Vector<float> mantissa = ((bits & new Vector<int>(0x007F_FFFF)) | new Vector<int>(0x3F00_0000)).As<int, float>();
            return (mantissa.As<float, T>(), exponent.As<float, T>());
        }
        Vector<long> wide = v.As<T, long>();
        Vector<double> e = Vector.ConvertToDouble(Vector.ShiftRightLogical(wide, 52) - new Vector<long>(1022L));
        Vector<double> m = ((wide & new Vector<long>(0x000F_FFFF_FFFF_FFFFL)) | new Vector<long>(0x3FE0_0000_0000_0000L)).As<long, double>();
        return (m.As<double, T>(), e.As<double, T>());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AllSet(Vector<T> mask) => Vector.EqualsAll(mask.As<T, byte>(), Vector<byte>.AllBitsSet);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CountSet(Vector<T> mask) => typeof(T) == typeof(float)
        ? -Vector.Sum(mask.As<T, int>())
        : (int)-Vector.Sum(mask.As<T, long>());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SumAsDouble(Vector<T> v)
    {
        if (typeof(T) == typeof(double))
        {
            return Vector.Sum(v.As<T, double>());
        }
        Vector.Widen(v.As<T, float>(), out Vector<double> low, out Vector<double> high);
        return Vector.Sum(low + high);
    }
}
