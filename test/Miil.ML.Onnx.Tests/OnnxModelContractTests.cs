using Google.Protobuf;
using Microsoft.ML;
using Miil.ML.Images;
using Onnx;

namespace Miil.ML.Onnx.Tests;

/// <summary>The contract's metadata round-trips, and a model of a newer contract or with broken metadata is refused naming it.</summary>
[TestClass]
public sealed class OnnxModelContractTests
{
    [TestMethod]
    public void TheDescriptionRoundTrips()
    {
        var preprocessing = new ImagePreprocessing { ImageSize = 40, ChannelOrder = ColorChannelOrder.Bgr, Scale = 1f, Mean = [104f, 117f, 123f], Std = [57f, 57f, 58f] };
        byte[] onnx = ContractModels.Tiny(3, 40, ["a", "b", "c"], [0.2f, 0.5f, 0.9f], preprocessing);
        MultiLabelOnnxModel model = MultiLabelOnnxModel.Read(onnx, "the model");
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, model.ClassNames.ToArray());
        CollectionAssert.AreEqual(new[] { 0.2f, 0.5f, 0.9f }, model.Thresholds.ToArray());
        Assert.AreEqual(preprocessing, model.Preprocessing);
        Assert.AreEqual(40, model.ImageSize);
        ModelProto proto = ModelProto.Parser.ParseFrom(onnx);
        Assert.AreEqual(OnnxModelContract.Version.ToString(), proto.MetadataProps.Single(p => p.Key == OnnxModelContract.MetadataKeys.ContractVersion).Value);
        Assert.AreEqual(OnnxModelContract.Opset, proto.OpsetImport.Single().Version);
    }

    [TestMethod]
    public void ANewerContractVersionIsRefusedNamingBothVersions()
    {
        byte[] onnx = WithMetadata(ContractModels.Tiny(3, 32), OnnxModelContract.MetadataKeys.ContractVersion, "9");
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => new MLContext(seed: 0).MultiLabel().ScoreImages(onnx));
        StringAssert.Contains(e.Message, "version 9");
        StringAssert.Contains(e.Message, $"up to {OnnxModelContract.Version}");
    }

    [TestMethod]
    public void AModelWithoutAVersionIsReadAsTheFirstExports()
    {
        // The first exports wrote the preprocessing as a sentence and no version: RGB, 1/255, no mean/std.
        ModelProto proto = ModelProto.Parser.ParseFrom(ContractModels.Tiny(2, 32, preprocessing: ImagePreprocessing.ImageNet(32)));
        proto.MetadataProps.Remove(proto.MetadataProps.Single(p => p.Key == OnnxModelContract.MetadataKeys.ContractVersion));
        proto.MetadataProps.Single(p => p.Key == OnnxModelContract.MetadataKeys.Preprocessing).Value = "RGB; resize: squash to image_size x image_size; scale 1/255 (no mean/std); layout: planar CHW, batch first";
        Assert.AreEqual(ImagePreprocessing.Unnormalized(32), MultiLabelOnnxModel.Read(proto.ToByteArray(), "old").Preprocessing);
    }

    [TestMethod]
    [DataRow("miil.preprocessing", "{\"image_size\":32,\"resize\":\"crop\",\"channel_order\":\"rgb\",\"scale\":0.0039,\"mean\":[0,0,0],\"std\":[1,1,1],\"layout\":\"NCHW\"}", "crop")]
    [DataRow("miil.preprocessing", "{\"image_size\":32,\"resize\":\"squash\",\"channel_order\":\"rgb\",\"scale\":0.0039,\"mean\":[0,0],\"std\":[1,1,1],\"layout\":\"NCHW\"}", "mean")]
    [DataRow("miil.preprocessing", "{\"image_size\":32,\"resize\":\"squash\",\"channel_order\":\"rgb\",\"scale\":0.0039,\"mean\":[0,0,0],\"std\":[1,0,1],\"layout\":\"NCHW\"}", "std")]
    [DataRow("miil.preprocessing", "{\"image_size\":64,\"resize\":\"squash\",\"channel_order\":\"rgb\",\"scale\":0.0039,\"mean\":[0,0,0],\"std\":[1,1,1],\"layout\":\"NCHW\"}", "64")]
    [DataRow("miil.thresholds", "[0.5]", "thresholds")]
    [DataRow("miil.class_names", "not json", "unreadable")]
    public void BrokenMetadataIsNamed(string key, string value, string expected)
    {
        byte[] onnx = WithMetadata(ContractModels.Tiny(3, 32), key, value);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => MultiLabelOnnxModel.Read(onnx, "'broken.onnx'"));
        StringAssert.Contains(e.Message, "'broken.onnx'");
        StringAssert.Contains(e.Message, expected);
    }

    private static byte[] WithMetadata(byte[] onnx, string key, string value)
    {
        ModelProto proto = ModelProto.Parser.ParseFrom(onnx);
        proto.MetadataProps.Single(p => p.Key == key).Value = value;
        return proto.ToByteArray();
    }
}
