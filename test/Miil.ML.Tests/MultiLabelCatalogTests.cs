using Microsoft.ML;

namespace Miil.ML.Tests;

[TestClass]
public sealed class MultiLabelCatalogTests
{
    [TestMethod]
    public void OneCatalogPerContextBoundToIt()
    {
        var first = new MLContext(seed: 1);
        var second = new MLContext(seed: 2);
        Assert.AreSame(first.MultiLabel(), first.MultiLabel());
        Assert.AreNotSame(first.MultiLabel(), second.MultiLabel());
        Assert.AreSame(first, first.MultiLabel().Context);
    }

    [TestMethod]
    public void NullContextIsRejectedByName()
    {
        var e = Assert.ThrowsExactly<ArgumentNullException>(() => MLContextExtensions.MultiLabel(null!));
        Assert.AreEqual("mlContext", e.ParamName);
    }
}
