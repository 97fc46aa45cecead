using Google.Protobuf;
using Miil.ML.Onnx.Graphs;
using Onnx;

namespace Miil.ML.Onnx.Diagnostics;

/// <summary>
/// The doctor's tiny built-in model: a 3x3 convolution (3 to 8 channels, padding 1), ReLU, global average
/// pooling and a linear layer to 5 outputs, over a batch of 2 images of 3x16x16, with seeded weights,
/// and its output computed in float64 in managed code. Small enough to build and run in milliseconds,
/// and it exercises the kernels a TResNet needs most (Conv, Gemm, pooling).
/// </summary>
internal sealed class ParityModel
{
    public const string InputName = "input", OutputName = "logits";
    private const int Batch = 2, InChannels = 3, Side = 16, Filters = 8, Outputs = 5;

    private ParityModel(byte[] model, float[] input, double[] expected)
    {
        Model = model;
        Input = input;
        Expected = expected;
    }

    /// <summary>The ONNX model's bytes.</summary>
    public byte[] Model { get; }

    /// <summary>The input batch, NCHW.</summary>
    public float[] Input { get; }

    /// <summary>The input's shape.</summary>
    public static long[] InputShape => new long[] { Batch, InChannels, Side, Side };

    /// <summary>The reference output (batch x outputs), float64.</summary>
    public double[] Expected { get; }

    public static ParityModel Build()
    {
        var random = new Random(20261202);
        float[] Uniform(int n, float scale) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
        float[] convWeight = Uniform(Filters * InChannels * 9, 0.5f), convBias = Uniform(Filters, 0.1f);
        float[] linearWeight = Uniform(Outputs * Filters, 0.5f), linearBias = Uniform(Outputs, 0.1f);
        float[] input = Uniform(Batch * InChannels * Side * Side, 1f);

        var g = new OnnxGraphBuilder("doctor_parity");
        string w = g.Initializer("conv_weight", convWeight, Filters, InChannels, 3, 3);
        string b = g.Initializer("conv_bias", convBias, Filters);
        string conv = g.Node("Conv", "conv", new[] { InputName, w, b }, OnnxGraphBuilder.Ints("kernel_shape", 3, 3), OnnxGraphBuilder.Ints("pads", 1, 1, 1, 1));
        string relu = g.Node("Relu", "relu", new[] { conv });
        string pooled = g.Node("GlobalAveragePool", "pool", new[] { relu });
        string flat = g.Node("Flatten", "flat", new[] { pooled }, OnnxGraphBuilder.Int("axis", 1));
        string lw = g.Initializer("linear_weight", linearWeight, Outputs, Filters);
        string lb = g.Initializer("linear_bias", linearBias, Outputs);
        var gemm = new NodeProto { OpType = "Gemm", Name = "linear" };
        gemm.Input.Add(flat);
        gemm.Input.Add(lw);
        gemm.Input.Add(lb);
        gemm.Output.Add(OutputName);
        gemm.Attribute.Add(OnnxGraphBuilder.Int("transB", 1));
        g.Graph.Node.Add(gemm);
        g.Graph.Input.Add(OnnxGraphBuilder.Value(InputName, TensorProto.Types.DataType.Float, Batch, InChannels, Side, Side));
        g.Graph.Output.Add(OnnxGraphBuilder.Value(OutputName, TensorProto.Types.DataType.Float, Batch, Outputs));
        var model = new ModelProto { IrVersion = OnnxModelContract.IrVersion, ProducerName = "Miil.ML.Onnx doctor", Graph = g.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxModelContract.Opset });

        return new ParityModel(model.ToByteArray(), input, Reference(input, convWeight, convBias, linearWeight, linearBias));
    }

    /// <summary>The same network, written out in float64.</summary>
    private static double[] Reference(float[] x, float[] cw, float[] cb, float[] lw, float[] lb)
    {
        var output = new double[Batch * Outputs];
        var pooled = new double[Filters];
        for (int n = 0; n < Batch; n++)
        {
            for (int f = 0; f < Filters; f++)
            {
                double sum = 0;
                for (int y = 0; y < Side; y++)
                {
                    for (int xo = 0; xo < Side; xo++)
                    {
                        double v = cb[f];
                        for (int c = 0; c < InChannels; c++)
                        {
                            for (int ky = 0; ky < 3; ky++)
                            {
                                for (int kx = 0; kx < 3; kx++)
                                {
                                    int iy = y + ky - 1, ix = xo + kx - 1;
                                    if (iy >= 0 && iy < Side && ix >= 0 && ix < Side)
                                    {
                                        v += (double)cw[((f * InChannels + c) * 3 + ky) * 3 + kx] * x[((n * InChannels + c) * Side + iy) * Side + ix];
                                    }
                                }
                            }
                        }
                        sum += Math.Max(v, 0);
                    }
                }
                pooled[f] = sum / (Side * Side);
            }
            for (int o = 0; o < Outputs; o++)
            {
                double v = lb[o];
                for (int f = 0; f < Filters; f++)
                {
                    v += (double)lw[o * Filters + f] * pooled[f];
                }
                output[n * Outputs + o] = v;
            }
        }
        return output;
    }
}
