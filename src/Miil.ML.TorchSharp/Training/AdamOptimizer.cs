using Miil.ML.TorchSharp.Numerics;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// Adam as PyTorch computes it (<c>torch.optim.Adam</c> / <c>AdamW</c>, non-amsgrad), with the
/// learning rate and beta1 set by the caller each step (OneCycle) and weight decay on a chosen
/// subset of parameters only. Written out rather than taken from <c>torch.optim</c> so that its
/// whole state (moments and step) can be checkpointed and restored exactly.
/// </summary>
internal sealed class AdamOptimizer : IDisposable
{
    public const double Beta2 = 0.999;
    public const double Epsilon = 1e-8;

    private readonly IReadOnlyList<(string Name, Parameter Parameter, bool Decay)> _parameters;
    private readonly double[] _rateFactors;
    private readonly Tensor[] _expAvg;
    private readonly Tensor[] _expAvgSq;
    private readonly double _weightDecay;
    private readonly WeightDecayKind _kind;

    /// <param name="parameters">Each parameter with its name and whether weight decay applies.</param>
    /// <param name="weightDecay">Weight decay.</param>
    /// <param name="kind">How the decay enters.</param>
    /// <param name="rateFactor">Each parameter's factor on the learning rate (fine-tuning's lower body rate); null for 1.</param>
    public AdamOptimizer(IReadOnlyList<(string Name, Parameter Parameter, bool Decay)> parameters, double weightDecay, WeightDecayKind kind, Func<string, double>? rateFactor = null)
    {
        _parameters = parameters;
        _rateFactors = parameters.Select(p => rateFactor?.Invoke(p.Name) ?? 1.0).ToArray();
        _weightDecay = weightDecay;
        _kind = kind;
        _expAvg = parameters.Select(p => zeros_like(p.Parameter).DetachFromDisposeScope()).ToArray();
        _expAvgSq = parameters.Select(p => zeros_like(p.Parameter).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>The parameters' names, in the order <see cref="Step"/> takes gradients.</summary>
    public IEnumerable<string> ParameterNames => _parameters.Select(p => p.Name);

    /// <summary>Steps taken (PyTorch's per-parameter <c>step</c>; the same for all parameters here).</summary>
    public long StepCount { get; private set; }

    /// <summary>Weights get decay, biases and 1-D parameters (norm scales and shifts) do not: the reference's add_weight_decay.</summary>
    public static bool Decays(string name, Parameter parameter) => parameter.dim() > 1 && !name.EndsWith(".bias", StringComparison.Ordinal);

    /// <summary>One step from the parameters' own gradients, or from <paramref name="gradients"/> (one per parameter, in order; float32) where given.</summary>
    public void Step(double learningRate, double beta1, IReadOnlyList<Tensor?>? gradients = null)
    {
        StepCount++;
        double bias1 = 1 - Math.Pow(beta1, StepCount);
        double bias2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, StepCount));
        // Scalars held by using for the whole loop: temporaries could be freed mid-call (see Numerics.Scalars).
        using Scalar weightDecay = _weightDecay.ToScalar();
        using Scalar beta1Scalar = beta1.ToScalar(), oneMinusBeta1 = (1 - beta1).ToScalar(), beta2 = Beta2.ToScalar(), oneMinusBeta2 = (1 - Beta2).ToScalar();
        using Scalar bias2 = bias2Sqrt.ToScalar(), epsilon = Epsilon.ToScalar();
        // One step size and one decoupled shrink per learning-rate factor (the body's and the head's when fine-tuning).
        var steps = new Dictionary<double, (Scalar Step, Scalar Shrink)>();
        try
        {
            using IDisposable noGrad = no_grad();
            for (int i = 0; i < _parameters.Count; i++)
            {
                using var scope = NewDisposeScope();
                (_, Parameter p, bool decay) = _parameters[i];
                Tensor? grad = gradients is null ? p.grad : gradients[i];
                if (grad is null)
                {
                    continue;
                }
                double rate = learningRate * _rateFactors[i];
                if (!steps.TryGetValue(_rateFactors[i], out (Scalar Step, Scalar Shrink) scalars))
                {
                    scalars = ((-rate / bias1).ToScalar(), (1 - rate * _weightDecay).ToScalar());
                    steps[_rateFactors[i]] = scalars;
                }
                if (decay && _weightDecay != 0)
                {
                    if (_kind == WeightDecayKind.CoupledL2)
                    {
                        grad = grad.add(p, alpha: weightDecay);
                    }
                    else
                    {
                        p.mul_(scalars.Shrink);
                    }
                }
                _expAvg[i].mul_(beta1Scalar).add_(grad, alpha: oneMinusBeta1);
                _expAvgSq[i].mul_(beta2).addcmul_(grad, grad, value: oneMinusBeta2);
                Tensor denom = _expAvgSq[i].sqrt().div_(bias2).add_(epsilon, Scalars.One);  // add_(Scalar) alone passes a temporary alpha
                p.addcdiv_(_expAvg[i], denom, value: scalars.Step);
            }
        }
        finally
        {
            foreach ((Scalar step, Scalar shrink) in steps.Values)
            {
                step.Dispose();
                shrink.Dispose();
            }
        }
    }

    /// <summary>The state to checkpoint: the moments by parameter name.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> State()
    {
        for (int i = 0; i < _parameters.Count; i++)
        {
            yield return ("exp_avg." + _parameters[i].Name, _expAvg[i]);
            yield return ("exp_avg_sq." + _parameters[i].Name, _expAvgSq[i]);
        }
    }

    /// <summary>Restores the moments and the step count written by <see cref="State"/>.</summary>
    public void Restore(IReadOnlyDictionary<string, Tensor> state, long stepCount, string source)
    {
        using IDisposable noGrad = no_grad();
        for (int i = 0; i < _parameters.Count; i++)
        {
            Copy(state, "exp_avg." + _parameters[i].Name, _expAvg[i], source);
            Copy(state, "exp_avg_sq." + _parameters[i].Name, _expAvgSq[i], source);
        }
        StepCount = stepCount;
    }

    private static void Copy(IReadOnlyDictionary<string, Tensor> state, string key, Tensor into, string source)
    {
        if (!state.TryGetValue(key, out Tensor? value) || !value.shape.SequenceEqual(into.shape))
        {
            throw new InvalidOperationException(value is null
                ? $"Checkpoint {source} lacks optimizer state '{key}'."
                : $"Checkpoint {source} has optimizer state '{key}' of shape [{string.Join(", ", value.shape)}]; the model needs [{string.Join(", ", into.shape)}].");
        }
        into.copy_(value);
    }

    public void Dispose()
    {
        foreach (Tensor t in _expAvg.Concat(_expAvgSq))
        {
            t.Dispose();
        }
    }
}
