using Google.Protobuf;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace Miil.ML.Onnx.Tests;

/// <summary>
/// Device selection. This machine has no GPU: the CUDA paths tested are the fallback and the
/// refusal; running on CUDA itself is checked only where a GPU is present.
/// </summary>
[TestClass]
public sealed class OnnxSessionFactoryTests
{
    private static bool GpuPresent => OnnxSessionFactory.CudaUnavailableReason() is null;

    [TestMethod]
    public void CpuSessionRunsTheModel()
    {
        using OnnxSession session = OnnxSessionFactory.Create(SigmoidModel(), gpuDeviceId: null, fallbackToCpu: false);
        Assert.AreEqual(OnnxDevice.Cpu, session.Device);
        float[] output = Run(session, [0f, 2f, -2f]);
        Assert.AreEqual(0.5f, output[0], 1e-7f);
        Assert.AreEqual(1 / (1 + MathF.Exp(-2)), output[1], 1e-6f);
        Assert.AreEqual(1 / (1 + MathF.Exp(2)), output[2], 1e-6f);
    }

    [TestMethod]
    public void GpuRequestFallsBackToCpuWithAWarningThroughMLContext()
    {
        var ml = new MLContext(seed: 0) { GpuDeviceId = 0, FallbackToCpu = true };
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) { messages.Add(e.Message); } };
        using OnnxSession session = OnnxSessionFactory.Create(ml, SigmoidModel());
        if (GpuPresent)
        {
            Assert.AreEqual(OnnxDevice.Cuda, session.Device);
        }
        else
        {
            Assert.AreEqual(OnnxDevice.Cpu, session.Device);
            Assert.IsTrue(messages.Any(m => m.Contains("Running on CPU") && m.Contains("GPU device 0")), string.Join("\n", messages));
        }
        Assert.AreEqual(0.5f, Run(session, [0f])[0], 1e-7f);
    }

    [TestMethod]
    public void GpuRequestWithoutFallbackIsAClearError()
    {
        if (GpuPresent)
        {
            Assert.Inconclusive("A GPU is present: the refusal path cannot be reached here.");
        }
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => OnnxSessionFactory.Create(SigmoidModel(), gpuDeviceId: 0, fallbackToCpu: false));
        StringAssert.Contains(e.Message, "GPU device 0");
        StringAssert.Contains(e.Message, "fallbackToCpu");
    }

    [TestMethod]
    public void BadInputsAreRejected()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => OnnxSessionFactory.Create(SigmoidModel(), gpuDeviceId: -1, fallbackToCpu: true));
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => OnnxSessionFactory.Create([1, 2, 3, 4], null, true));
        StringAssert.Contains(e.Message, "4 bytes");
    }

    private static float[] Run(OnnxSession session, float[] input)
    {
        var x = new DenseTensor<float>(input, [1, input.Length]);
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results =
            session.Session.Run([NamedOnnxValue.CreateFromTensor("x", x)]);
        return results.Single().AsTensor<float>().ToArray();
    }

    /// <summary>y = sigmoid(x), x of shape [batch, n], built with the ONNX protobuf types.</summary>
    internal static byte[] SigmoidModel()
    {
        static ValueInfoProto Input(string name) => new()
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor
                {
                    ElemType = (int)TensorProto.Types.DataType.Float,
                    Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimParam = "batch" }, new TensorShapeProto.Types.Dimension { DimParam = "n" } } },
                },
            },
        };
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "Miil.ML.Onnx.Tests",
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 17 } },
            Graph = new GraphProto
            {
                Name = "sigmoid",
                Input = { Input("x") },
                Output = { Input("y") },
                Node = { new NodeProto { OpType = "Sigmoid", Input = { "x" }, Output = { "y" } } },
            },
        };
        return model.ToByteArray();
    }
}
