namespace Federate.Learning.Evaluation;

/// <summary>Classification metrics computed from predicted probabilities.</summary>
public static class ClassificationMetrics
{
    /// <summary>
    /// Probabilities are clipped to [<see cref="LogLossEpsilon"/>, 1 - <see cref="LogLossEpsilon"/>] before taking
    /// the log (scikit-learn's historical <c>log_loss</c> default eps = 1e-15; applied in float64; rows are not
    /// renormalised after clipping).
    /// </summary>
    public const double LogLossEpsilon = 1e-15;

    /// <summary>
    /// Computes, in this order: loss (mean cross-entropy / log-loss of the true class, see
    /// <see cref="LogLossEpsilon"/>), accuracy, precision, recall, f1, dice. The predicted class is the argmax of
    /// each row (the first maximum on ties). With two classes precision, recall, f1 and dice are those of class 1
    /// (the positive class); with more classes they are macro averages over the classes that occur among the true
    /// or predicted labels (as scikit-learn's default <c>labels</c>), a class's value being 0 when its denominator is 0
    /// (zero_division=0). A client holding only some classes is so not penalised for the classes it never sees. Dice is
    /// 2TP / (2TP + FP + FN), which equals f1. An empty set gives 0 for every metric.
    /// </summary>
    /// <param name="probabilities">Row-major labels.Length x classCount probabilities.</param>
    /// <param name="labels">True class of each row, in [0, classCount).</param>
    /// <param name="classCount">Number of classes (at least 1).</param>
    /// <param name="includeConfusion">
    /// Also report per-class counts <c>confusion_tp_C</c>, <c>confusion_fp_C</c>, <c>confusion_fn_C</c>, from which the
    /// server pools precision, recall and F1 over clients exactly (see Federate.Core.WeightedMetricFolder).
    /// </param>
    public static MetricRecord Compute(ReadOnlySpan<float> probabilities, ReadOnlySpan<int> labels, int classCount, bool includeConfusion = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        int n = labels.Length;
        if (probabilities.Length != (long)n * classCount)
        {
            throw new ArgumentException($"Expected {(long)n * classCount} probabilities ({n} rows x {classCount} classes), got {probabilities.Length}.", nameof(probabilities));
        }

        var tp = new long[classCount];
        var fp = new long[classCount];
        var fn = new long[classCount];
        double lossSum = 0;
        long correct = 0;
        for (int i = 0; i < n; i++)
        {
            int label = labels[i];
            if ((uint)label >= (uint)classCount)
            {
                throw new ArgumentOutOfRangeException(nameof(labels), label, $"Label {label} at row {i} is outside [0, {classCount}).");
            }

            var row = probabilities.Slice(i * classCount, classCount);
            int predicted = 0;
            for (int c = 1; c < classCount; c++)
            {
                if (row[c] > row[predicted])
                {
                    predicted = c;
                }
            }

            double p = Math.Clamp((double)row[label], LogLossEpsilon, 1 - LogLossEpsilon);
            lossSum -= Math.Log(p);
            if (predicted == label)
            {
                correct++;
                tp[label]++;
            }
            else
            {
                fp[predicted]++;
                fn[label]++;
            }
        }

        double precision;
        double recall;
        double f1;
        double dice;
        if (classCount == 2)
        {
            (precision, recall, f1, dice) = PerClass(tp[1], fp[1], fn[1]);
        }
        else
        {
            precision = recall = f1 = dice = 0;
            int present = 0;
            for (int c = 0; c < classCount; c++)
            {
                if (tp[c] + fp[c] + fn[c] == 0)
                {
                    continue;
                }

                present++;
                var (pc, rc, fc, dc) = PerClass(tp[c], fp[c], fn[c]);
                precision += pc;
                recall += rc;
                f1 += fc;
                dice += dc;
            }

            int divisor = Math.Max(1, present);
            precision /= divisor;
            recall /= divisor;
            f1 /= divisor;
            dice /= divisor;
        }

        var result = new MetricRecord
        {
            ["loss"] = n == 0 ? 0 : lossSum / n,
            ["accuracy"] = n == 0 ? 0 : (double)correct / n,
            ["precision"] = precision,
            ["recall"] = recall,
            ["f1"] = f1,
            ["dice"] = dice,
        };
        if (includeConfusion)
        {
            for (int c = 0; c < classCount; c++)
            {
                result[$"confusion_tp_{c}"] = tp[c];
                result[$"confusion_fp_{c}"] = fp[c];
                result[$"confusion_fn_{c}"] = fn[c];
            }
        }

        return result;
    }

    private static (double Precision, double Recall, double F1, double Dice) PerClass(long tp, long fp, long fn)
    {
        double precision = tp + fp == 0 ? 0 : (double)tp / (tp + fp);
        double recall = tp + fn == 0 ? 0 : (double)tp / (tp + fn);
        double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        long diceDenominator = (2 * tp) + fp + fn;
        double dice = diceDenominator == 0 ? 0 : 2.0 * tp / diceDenominator;
        return (precision, recall, f1, dice);
    }
}
