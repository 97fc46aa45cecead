using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Training;

/// <summary>
/// A float64 reference of what a lower precision's rounding does to a network, with no kernel of that
/// precision involved: a float64 copy whose input, weights (all but the norms', which the bfloat16 twin
/// keeps in float32) and every leaf module's output are rounded to the precision on the way forward.
/// Its distance from the plain float64 run is the error the rounding alone causes, conditioning included.
/// </summary>
internal static class RoundingEmulation
{
    /// <summary>Logits, the gradients of sum(sigmoid(logits)) in parameter order, and the buffers after the pass.</summary>
    public sealed record Result(Tensor Logits, IReadOnlyList<Tensor> Gradients, IReadOnlyDictionary<string, Tensor> Buffers);

    /// <summary>One forward and backward pass of a float64 copy of <paramref name="source"/> (its modes and state), rounding to <paramref name="roundTo"/> (null: none).</summary>
    public static Result Run(MultiLabelNetwork source, Tensor images, ScalarType? roundTo)
    {
        using MultiLabelNetwork copy = source.NewOfSameShape(CPU);
        copy.CopyStateFrom(source);
        copy.to(ScalarType.Float64);
        Dictionary<string, nn.Module> modes = source.named_modules().ToDictionary(m => m.name, m => m.module);
        foreach ((string name, nn.Module module) in copy.named_modules())
        {
            module.train(modes[name].training);
        }
        Tensor input = images.to(ScalarType.Float64);
        if (roundTo is ScalarType precision)
        {
            using (no_grad())
            {
                var norms = copy.modules().OfType<BatchNormAct2d>().SelectMany(n => n.parameters()).ToHashSet(ReferenceEqualityComparer.Instance);
                foreach (Tensor p in copy.parameters().Where(p => !norms.Contains(p)))
                {
                    p.copy_(Round(p, precision));
                }
            }
            foreach (nn.Module module in copy.modules().Where(m => !m.children().Any()))
            {
                // The value rounded, the gradient passed straight through: the backward's own rounding is not emulated.
                ((nn.Module<Tensor, Tensor>)module).register_forward_hook((_, _, output) => output + (Round(output, precision) - output).detach());
            }
            input = Round(input, precision);
        }
        Tensor logits = copy.call(input);
        logits.sigmoid().sum().backward();
        return new Result(
            logits.detach().MoveToOuterDisposeScope(),
            copy.parameters().Select(p => p.grad!.detach().clone().MoveToOuterDisposeScope()).ToList(),
            copy.named_buffers().ToDictionary(b => b.name, b => b.buffer.clone().MoveToOuterDisposeScope()));
    }

    /// <summary>||a - b|| / ||b||, in float64.</summary>
    public static double RelativeError(Tensor a, Tensor reference)
    {
        using var scope = NewDisposeScope();
        Tensor r = reference.to(ScalarType.Float64);
        return (a.to(ScalarType.Float64) - r).norm().item<double>() / Math.Max(double.Epsilon, r.norm().item<double>());
    }

    private static Tensor Round(Tensor x, ScalarType precision) => x.to(precision).to(ScalarType.Float64);
}
