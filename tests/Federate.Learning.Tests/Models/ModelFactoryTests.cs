namespace Federate.Learning.Tests.Models;

public class ModelFactoryTests
{
    [Theory]
    [InlineData("logistic", typeof(SoftmaxRegression))]
    [InlineData("mlp", typeof(Mlp))]
    [InlineData("mlp:256,128", typeof(Mlp))]
    [InlineData("gaussian-nb", typeof(GaussianNaiveBayes))]
    public void Create_KnownName_ReturnsModel(string name, Type expected)
    {
        var model = ModelFactory.Create(name, 7, 3);
        Assert.IsType(expected, model);
        Assert.Equal(7, model.InputSize);
        Assert.Equal(3, model.ClassCount);
    }

    [Fact]
    public void Create_Mlp_HasOneHiddenLayerOf128()
    {
        var model = (DenseModel)ModelFactory.Create("mlp", 784, 10);
        Assert.Equal([784, 128, 10], model.LayerSizes);
        Assert.Equal((784 * 128) + 128 + (128 * 10) + 10, model.ParameterCount);
    }

    [Fact]
    public void Create_MlpWithSizes_UsesThem()
    {
        var model = (DenseModel)ModelFactory.Create("mlp:256,128", 784, 10);
        Assert.Equal([784, 256, 128, 10], model.LayerSizes);
    }

    [Fact]
    public void Create_UnknownName_ThrowsOneLineListingNames()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelFactory.Create("foo", 4, 2));
        Assert.StartsWith("Unknown model 'foo'; use one of: logistic, mlp, mlp:H1[,H2...], gaussian-nb, noop:N, cnn, cnn-mcmahan, cnn:LAYERS, unet-small.", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("mlp:0")]
    [InlineData("mlp:abc")]
    [InlineData("mlp:")]
    [InlineData("mlp:64,")]
    [InlineData("mlp:-5")]
    public void Create_BadHiddenSizes_ThrowsOneLine(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => ModelFactory.Create(name, 4, 2));
        Assert.Contains(name, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
