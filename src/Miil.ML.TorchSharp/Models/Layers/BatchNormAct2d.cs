using Miil.ML.TorchSharp.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Layers;

/// <summary>
/// Batch norm followed by an activation, standing where the reference has In-Place ABN. Its state
/// has a batch norm's names (weight, bias, running_mean, running_var, num_batches_tracked), so the
/// reference's state-dict keys (<c>convN.1.weight</c>, ...) hold. In-Place ABN's effective scale is
/// |weight| + 1e-5: checkpoints trained with it are converted on import
/// (<see cref="TResNet.TResNetCheckpoint"/>), and this module is then plain batch norm.
/// </summary>
internal sealed class BatchNormAct2d : nn.Module<Tensor, Tensor>
{
    public const double Epsilon = 1e-5;
    public const double Momentum = 0.1;

    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;
    private readonly Tensor num_batches_tracked;

    /// <summary>The slope as a Scalar that lives as long as the module (see <see cref="Scalars"/>).</summary>
    private readonly Scalar? _slope;

    /// <param name="channels">Number of channels.</param>
    /// <param name="leakySlope">Slope of the LeakyReLU after the norm; null for identity.</param>
    public BatchNormAct2d(long channels, double? leakySlope)
        : base(nameof(BatchNormAct2d))
    {
        LeakySlope = leakySlope;
        _slope = leakySlope?.ToScalar();
        weight = new Parameter(ones(channels));
        bias = new Parameter(zeros(channels));
        running_mean = zeros(channels);
        running_var = ones(channels);
        num_batches_tracked = zeros([], ScalarType.Int64);
        register_parameter(nameof(weight), weight);
        register_parameter(nameof(bias), bias);
        register_buffer(nameof(running_mean), running_mean);
        register_buffer(nameof(running_var), running_var);
        register_buffer(nameof(num_batches_tracked), num_batches_tracked);
    }

    /// <summary>LeakyReLU slope after the norm, or null for no activation.</summary>
    public double? LeakySlope { get; }

    public Parameter Weight => weight;

    public Parameter Bias => bias;

    /// <summary>
    /// The affine map of this norm in eval mode folded into the preceding convolution's weights:
    /// <c>y = (x - mean) / sqrt(var + eps) * gamma + beta</c> becomes a scaled weight and a bias
    /// (computed in float64, returned in float64).
    /// </summary>
    public (Tensor Weight, Tensor Bias) FoldInto(Tensor convolutionWeight)
    {
        using var scope = NewDisposeScope();
        using Scalar epsilon = Epsilon.ToScalar();  // held across the call (Numerics.Scalars)
        Tensor scale = weight.to(ScalarType.Float64) / running_var.to(ScalarType.Float64).add(epsilon, Scalars.One).sqrt();
        Tensor folded = convolutionWeight.to(ScalarType.Float64) * scale.view(-1, 1, 1, 1);
        Tensor shift = bias.to(ScalarType.Float64) - running_mean.to(ScalarType.Float64) * scale;
        return (folded.MoveToOuterDisposeScope(), shift.MoveToOuterDisposeScope());
    }

    public override Tensor forward(Tensor x)
    {
        if (training)
        {
            using var noGrad = no_grad();
            num_batches_tracked.add_(Scalars.One, Scalars.One);  // add_(Scalar) alone would pass a temporary alpha
        }
        Tensor y = nn.functional.batch_norm(x, running_mean, running_var, weight, bias, training, Momentum, Epsilon);
        return _slope is null ? y : y.leaky_relu_(_slope);  // functional.leaky_relu would pass a temporary Scalar (Numerics.Scalars)
    }
}
