using Miil.ML.TorchSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// The reference's ModelEma: a copy of the model whose whole state, batch-norm running statistics
/// included, follows ema = decay x ema + (1 - decay) x model after every step. Integer buffers
/// (<c>num_batches_tracked</c>) are copied.
/// </summary>
internal sealed class ModelEma : IDisposable
{
    private readonly (Tensor Ema, Tensor Model)[] _pairs;

    /// <summary>1 - decay, held for the life of the average (see <see cref="Numerics.Scalars"/>).</summary>
    private readonly Scalar _weight;

    private readonly Scalar _decay;

    public ModelEma(MultiLabelNetwork model, double decay)
    {
        _weight = (1 - decay).ToScalar();
        _decay = decay.ToScalar();
        Model = model.NewOfSameShape(model.parameters().First().device);
        Dictionary<string, Tensor> source = model.state_dict();
        Dictionary<string, Tensor> target = Model.state_dict();
        _pairs = target.Select(kv => (kv.Value, source[kv.Key])).ToArray();
        CopyFrom();
        Model.eval();
    }

    /// <summary>The averaged model (always in eval mode).</summary>
    public MultiLabelNetwork Model { get; }

    public void Update()
    {
        using IDisposable noGrad = no_grad();
        foreach ((Tensor ema, Tensor model) in _pairs)
        {
            if (ema.is_floating_point())
            {
                ema.mul_(_decay).add_(model, alpha: _weight);
            }
            else
            {
                ema.copy_(model);
            }
        }
    }

    public void CopyFrom()
    {
        using IDisposable noGrad = no_grad();
        foreach ((Tensor ema, Tensor model) in _pairs)
        {
            ema.copy_(model);
        }
    }

    public void Dispose()
    {
        Model.Dispose();
        _weight.Dispose();
        _decay.Dispose();
    }
}
