using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using Tensor = Federate.Core.Records.Tensor;

namespace Federate.TorchSharp.Tests;

public sealed class TorchStateDictTests
{
    private static unsafe nint Address(torch.Tensor tensor) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));

    [Fact]
    public void ToRecord_BatchNormNetwork_PyTorchNamesDtypesAndShapesInStateDictOrder()
    {
        using var module = TestModels.CnnWithBatchNorm();

        var record = TorchStateDict.ToRecord(module);

        Assert.Equal(
            ["conv.weight", "conv.bias", "block.bn.weight", "block.bn.bias", "block.bn.running_mean", "block.bn.running_var", "block.bn.num_batches_tracked", "fc.weight", "fc.bias"],
            record.Names);
        Assert.Equal("Float32[2,1,3,3]", record["conv.weight"].ToString());
        Assert.Equal("Float32[10,72]", record["fc.weight"].ToString());
        Assert.Equal(DType.Int64, record["block.bn.num_batches_tracked"].DType);
        Assert.Empty(record["block.bn.num_batches_tracked"].Shape);
        Assert.Equal(new float[] { 1, 1 }, record["block.bn.running_var"].GetArray<float>());
    }

    [Fact]
    public void RoundTrip_RecordToModuleToRecord_ExactValuesAndRowMajorLayout()
    {
        using var module = TestModels.CnnWithBatchNorm();
        var layout = TorchStateDict.ToRecord(module);
        var sent = new ArrayRecord();
        int k = 0;
        foreach (var (name, tensor) in layout)
        {
            var copy = Tensor.Zeros(tensor.DType, [.. tensor.Shape]);
            if (copy.DType == DType.Float32)
            {
                var values = copy.GetArray<float>();
                for (int i = 0; i < values.Length; i++)
                {
                    // Values that do not survive a round trip through any other type: 1/3-like fractions, tiny, negative.
                    values[i] = (float)((k * 1000 + i) / 3.0 * (i % 2 == 0 ? 1 : -1)) + 1e-30f;
                }
            }
            else
            {
                copy.GetArray<long>()[0] = 123_456_789_012L;
            }

            sent.Add(name, copy);
            k++;
        }

        TorchStateDict.Load(module, sent);
        var back = TorchStateDict.ToRecord(module);

        Assert.Equal(sent.Names, back.Names);
        foreach (var (name, tensor) in sent)
        {
            Assert.Equal(tensor.AsBytes().ToArray(), back[name].AsBytes().ToArray());
        }

        // conv.weight is [out, in, kh, kw] row-major in both: element [1, 0, 2, 1] is flat index 1*9 + 2*3 + 1 = 16.
        var weight = module.state_dict()["conv.weight"];
        Assert.Equal(sent["conv.weight"].GetArray<float>()[16], weight[1, 0, 2, 1].item<float>());
        Assert.Equal(123_456_789_012L, module.state_dict()["block.bn.num_batches_tracked"].item<long>());
    }

    [Fact]
    public void Load_CopiesIntoTheExistingParameterStorage()
    {
        using var module = TestModels.Cnn();
        var parameter = module.state_dict()["fc.bias"];
        var before = Address(parameter);
        var record = TorchStateDict.ToRecord(module);
        record["fc.bias"].GetArray<float>().AsSpan().Fill(0.25f);

        TorchStateDict.Load(module, record);

        Assert.Same(parameter, module.state_dict()["fc.bias"]);
        Assert.Equal(before, Address(parameter));
        Assert.All(parameter.data<float>().ToArray(), v => Assert.Equal(0.25f, v));
        Assert.True(parameter.requires_grad);
    }

    [Fact]
    public void Load_WrongShape_OneLineErrorNamingTheTensorAndNothingCopied()
    {
        using var module = TestModels.Cnn(hidden: 4);
        using var other = TestModels.Cnn(hidden: 5);
        var before = TorchStateDict.ToRecord(module);

        var error = Assert.Throws<ArgumentException>(() => TorchStateDict.Load(module, TorchStateDict.ToRecord(other)));

        Assert.Equal("tensor 'conv.weight' is Float32[5,1,3,3] in the received model and Float32[4,1,3,3] in this client's module; give the server and every client the same model", error.Message);
        Assert.Equal(before["fc.weight"].GetArray<float>(), TorchStateDict.ToRecord(module)["fc.weight"].GetArray<float>());
    }

    [Fact]
    public void DescribeMismatch_MissingExtraAndDtype_NamesTheFirstDifference()
    {
        using var module = TestModels.Cnn();
        var record = TorchStateDict.ToRecord(module);
        Assert.Null(TorchStateDict.DescribeMismatch(module, record));

        var missing = new ArrayRecord(record.Where(kv => kv.Key != "fc.bias"));
        Assert.Equal("the received model has no tensor 'fc.bias', which this client's module has; give the server and every client the same model", TorchStateDict.DescribeMismatch(module, missing));

        var extra = new ArrayRecord(record) { { "head.weight", Tensor.FromArray(new float[2], 2) } };
        Assert.Equal("the received model has a tensor 'head.weight' that this client's module does not have; give the server and every client the same model", TorchStateDict.DescribeMismatch(module, extra));

        var doubles = new ArrayRecord(record.Select(kv => kv.Key == "conv.bias" ? new KeyValuePair<string, Tensor>(kv.Key, Tensor.FromArray(new double[4], 4)) : kv));
        Assert.Equal("tensor 'conv.bias' is Float64[4] in the received model and Float32[4] in this client's module; give the server and every client the same model", TorchStateDict.DescribeMismatch(module, doubles));
    }

    [Fact]
    public void ToTensor_NonContiguousView_CopiesInLogicalOrder()
    {
        using var matrix = torch.arange(6, dtype: torch.ScalarType.Float32).reshape(2, 3);
        using var transposed = matrix.t();

        var tensor = TorchStateDict.ToTensor(transposed);

        Assert.Equal([3L, 2L], tensor.Shape);
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, tensor.GetArray<float>());
    }

    [Fact]
    public void CopyTo_NonContiguousView_WritesInLogicalOrder()
    {
        using var matrix = torch.zeros(2, 3);
        using var transposed = matrix.t();

        TorchStateDict.CopyTo(Tensor.FromArray(new float[] { 0, 3, 1, 4, 2, 5 }, 3, 2), transposed);

        Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5 }, matrix.data<float>().ToArray());
        var error = Assert.Throws<ArgumentException>(() => TorchStateDict.CopyTo(Tensor.FromArray(new float[6], 6), matrix));
        Assert.Equal("cannot copy a Float32[6] tensor into a Float32[2,3] one", error.Message);
    }
}
