namespace Federate.Learning.Tests.Evaluation;

public class ClassificationMetricsTests
{
    [Fact]
    public void Compute_Keys_InDocumentedOrder()
    {
        var m = ClassificationMetrics.Compute([0.3f, 0.7f], [1], 2);
        Assert.Equal(["loss", "accuracy", "precision", "recall", "f1", "dice"], m.Keys);
    }

    [Fact]
    public void Compute_TinyLogLoss_MatchesHandComputation()
    {
        // -(ln 0.8 + ln 0.4) / 2
        var m = ClassificationMetrics.Compute([0.8f, 0.2f, 0.4f, 0.6f], [0, 0], 2);
        Assert.Equal(-(Math.Log(0.8f) + Math.Log(0.4f)) / 2, m["loss"], 12);
        Assert.Equal(0.5, m["accuracy"], 12);
    }

    [Fact]
    public void Compute_ZeroProbabilityOfTrueClass_ClipsToEpsilon()
    {
        var m = ClassificationMetrics.Compute([1f, 0f], [1], 2);
        Assert.Equal(-Math.Log(1e-15), m["loss"], 9);
    }

    [Fact]
    public void Compute_Binary_ReportsPositiveClassMetrics()
    {
        // labels:    1 1 1 0 0 0 1 0
        // predicted: 1 1 0 1 0 0 1 0  -> TP 3, FN 1, FP 1, TN 3
        int[] labels = [1, 1, 1, 0, 0, 0, 1, 0];
        int[] predicted = [1, 1, 0, 1, 0, 0, 1, 0];
        var p = predicted.SelectMany(c => c == 1 ? new[] { 0.1f, 0.9f } : new[] { 0.9f, 0.1f }).ToArray();
        var m = ClassificationMetrics.Compute(p, labels, 2);
        Assert.Equal(6.0 / 8, m["accuracy"], 12);
        Assert.Equal(3.0 / 4, m["precision"], 12);
        Assert.Equal(3.0 / 4, m["recall"], 12);
        Assert.Equal(3.0 / 4, m["f1"], 12);
        Assert.Equal(6.0 / 8, m["dice"], 12);
        Assert.Equal(-(6 * Math.Log(0.9f) + 2 * Math.Log(0.1f)) / 8, m["loss"], 12);
    }

    [Fact]
    public void Compute_BinaryUnequalPrecisionRecall_F1IsHarmonicMean()
    {
        // labels 1 1 1 1 0 0; predicted 1 0 0 0 1 0 -> TP 1, FN 3, FP 1
        int[] labels = [1, 1, 1, 1, 0, 0];
        int[] predicted = [1, 0, 0, 0, 1, 0];
        var p = predicted.SelectMany(c => c == 1 ? new[] { 0.4f, 0.6f } : new[] { 0.6f, 0.4f }).ToArray();
        var m = ClassificationMetrics.Compute(p, labels, 2);
        Assert.Equal(0.5, m["precision"], 12);
        Assert.Equal(0.25, m["recall"], 12);
        Assert.Equal(2 * 0.5 * 0.25 / 0.75, m["f1"], 12);
        Assert.Equal(2.0 / (2 + 1 + 3), m["dice"], 12);
    }

    [Fact]
    public void Compute_ThreeClassConfusion_MacroAverages()
    {
        // true\pred  0 1 2
        //   0        2 1 0
        //   1        0 1 1
        //   2        1 0 2
        (int True, int Pred)[] pairs = [(0, 0), (0, 0), (0, 1), (1, 1), (1, 2), (2, 0), (2, 2), (2, 2)];
        var labels = pairs.Select(t => t.True).ToArray();
        var p = pairs.SelectMany(t => Enumerable.Range(0, 3).Select(c => c == t.Pred ? 0.6f : 0.2f)).ToArray();
        var m = ClassificationMetrics.Compute(p, labels, 3);
        // precision: c0 2/3, c1 1/2, c2 2/3; recall: c0 2/3, c1 1/2, c2 2/3
        double precision = (2.0 / 3 + 0.5 + 2.0 / 3) / 3;
        Assert.Equal(5.0 / 8, m["accuracy"], 12);
        Assert.Equal(precision, m["precision"], 12);
        Assert.Equal(precision, m["recall"], 12);
        Assert.Equal(precision, m["f1"], 12);
        Assert.Equal(precision, m["dice"], 12);
        double loss = -(5 * Math.Log(0.6f) + 3 * Math.Log(0.2f)) / 8;
        Assert.Equal(loss, m["loss"], 12);
    }

    [Fact]
    public void Compute_AbsentClass_IsLeftOutOfMacroAverage()
    {
        // Class 2 is never true nor predicted, so the macro average runs over classes 0 and 1, both perfect.
        float[] p = [0.9f, 0.1f, 0f, 0.1f, 0.9f, 0f];
        var m = ClassificationMetrics.Compute(p, [0, 1], 3);
        Assert.Equal(1.0, m["accuracy"], 12);
        Assert.Equal(1.0, m["precision"], 12);
        Assert.Equal(1.0, m["recall"], 12);
        Assert.Equal(1.0, m["f1"], 12);
    }

    [Fact]
    public void Compute_PredictedButAbsentClass_CountsAsZero()
    {
        // Row 1 (true 1) is predicted as class 2, which has no true examples: class 0 P=R=1; class 1 P=0 (no
        // predictions), R=0; class 2 P=0, R=0 (zero division). Macro over {0, 1, 2}: 1/3.
        float[] p = [0.9f, 0.05f, 0.05f, 0.1f, 0.2f, 0.7f];
        var m = ClassificationMetrics.Compute(p, [0, 1], 3);
        Assert.Equal(0.5, m["accuracy"], 12);
        Assert.Equal(1.0 / 3, m["precision"], 12);
        Assert.Equal(1.0 / 3, m["recall"], 12);
        Assert.Equal(1.0 / 3, m["f1"], 12);
    }

    [Fact]
    public void Compute_Ties_PredictFirstMaximum()
    {
        var m = ClassificationMetrics.Compute([0.5f, 0.5f, 0.5f, 0.5f], [0, 1], 2);
        Assert.Equal(0.5, m["accuracy"], 12);
        Assert.Equal(0.0, m["precision"], 12);
    }

    [Fact]
    public void Compute_LengthMismatch_Throws()
    {
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute([0.5f, 0.5f, 0.1f], [0, 1], 2));
    }
}
