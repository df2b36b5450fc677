namespace Federate.Core.Strategies;

/// <summary>
/// Folds metric records into example-weighted means, one reply at a time. Confusion counts reported as
/// <c>confusion_tp_C</c>, <c>confusion_fp_C</c> and <c>confusion_fn_C</c> (class C) are summed instead, and
/// <c>precision</c>, <c>recall</c>, <c>f1</c> and <c>dice</c> are recomputed from the pooled counts (for two classes those of
/// class 1, otherwise macro averages over the classes that occur), so the federated values equal the centralised
/// ones on the union of the clients' data rather than a mean of per-client ratios. The counts themselves are not
/// part of the result.
/// </summary>
public sealed class WeightedMetricFolder
{
    /// <summary>Prefix of the confusion-count metrics clients may report.</summary>
    public const string ConfusionPrefix = "confusion_";

    private readonly SortedDictionary<int, (double Tp, double Fp, double Fn)> _confusion = [];
    private readonly List<string> _order = [];
    private readonly Dictionary<string, (double Sum, double Weight)> _sums = new(StringComparer.Ordinal);
    private double _examples;

    /// <summary>Folds one reply's metrics.</summary>
    public void Add(MetricRecord metrics)
    {
        double w = metrics.TryGetValue(RecordNames.NumExamples, out var n) && n > 0 ? n : 1;
        _examples += metrics.TryGetValue(RecordNames.NumExamples, out var n2) ? n2 : 0;
        foreach (var (name, value) in metrics)
        {
            if (name == RecordNames.NumExamples || !double.IsFinite(value))
            {
                continue;
            }

            if (name.StartsWith(ConfusionPrefix, StringComparison.Ordinal) && TryParseConfusion(name, out var kind, out var cls))
            {
                var c = _confusion.TryGetValue(cls, out var existing) ? existing : (0, 0, 0);
                _confusion[cls] = kind switch
                {
                    "tp" => (c.Tp + value, c.Fp, c.Fn),
                    "fp" => (c.Tp, c.Fp + value, c.Fn),
                    _ => (c.Tp, c.Fp, c.Fn + value),
                };
                continue;
            }

            if (!_sums.TryGetValue(name, out var s))
            {
                _order.Add(name);
                s = (0, 0);
            }

            _sums[name] = (s.Sum + (w * value), s.Weight + w);
        }
    }

    /// <summary>The weighted means, plus the total <c>num_examples</c>.</summary>
    public MetricRecord Result()
    {
        var result = new MetricRecord();
        foreach (var name in _order)
        {
            var (sum, weight) = _sums[name];
            result[name] = sum / weight;
        }

        if (_confusion.Count > 0)
        {
            var (precision, recall, f1) = Pooled();
            result["precision"] = precision;
            result["recall"] = recall;
            result["f1"] = f1;
            if (result.ContainsKey("dice"))
            {
                result["dice"] = f1;
            }
        }

        if (_examples > 0)
        {
            result[RecordNames.NumExamples] = _examples;
        }

        return result;
    }

    private (double Precision, double Recall, double F1) Pooled()
    {
        static (double P, double R, double F) PerClass((double Tp, double Fp, double Fn) c)
        {
            double p = c.Tp + c.Fp == 0 ? 0 : c.Tp / (c.Tp + c.Fp);
            double r = c.Tp + c.Fn == 0 ? 0 : c.Tp / (c.Tp + c.Fn);
            double f = p + r == 0 ? 0 : 2 * p * r / (p + r);
            return (p, r, f);
        }

        if (_confusion.Count == 2 && _confusion.ContainsKey(0) && _confusion.TryGetValue(1, out var positive))
        {
            return PerClass(positive);
        }

        double sp = 0;
        double sr = 0;
        double sf = 0;
        int present = 0;
        foreach (var c in _confusion.Values)
        {
            if (c.Tp + c.Fp + c.Fn == 0)
            {
                continue;
            }

            var (p, r, f) = PerClass(c);
            sp += p;
            sr += r;
            sf += f;
            present++;
        }

        present = Math.Max(1, present);
        return (sp / present, sr / present, sf / present);
    }

    private static bool TryParseConfusion(string name, out string kind, out int cls)
    {
        // confusion_tp_3
        kind = "";
        cls = 0;
        var rest = name.AsSpan(ConfusionPrefix.Length);
        if (rest.Length < 4 || rest[2] != '_')
        {
            return false;
        }

        kind = rest[..2].ToString();
        return kind is "tp" or "fp" or "fn" && int.TryParse(rest[3..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out cls);
    }
}
