using System.Numerics;

namespace Federate.Core.Aggregation;

/// <summary>Selection (quickselect) helpers for coordinate-wise robust aggregation: O(n) per coordinate, no full sort.</summary>
public static class Selection
{
    /// <summary>
    /// Reorders <paramref name="values"/> so that the element at <paramref name="k"/> is the one a sort would put
    /// there, smaller-or-equal ones before it and larger-or-equal ones after it (Hoare's selection).
    /// </summary>
    public static void Select<T>(Span<T> values, int k)
        where T : INumber<T>
    {
        int lo = 0;
        int hi = values.Length - 1;
        while (hi > lo)
        {
            // Median of three as pivot.
            int mid = lo + ((hi - lo) >> 1);
            if (values[mid] < values[lo])
            {
                (values[mid], values[lo]) = (values[lo], values[mid]);
            }

            if (values[hi] < values[lo])
            {
                (values[hi], values[lo]) = (values[lo], values[hi]);
            }

            if (values[hi] < values[mid])
            {
                (values[hi], values[mid]) = (values[mid], values[hi]);
            }

            var pivot = values[mid];
            int i = lo;
            int j = hi;
            while (i <= j)
            {
                while (values[i] < pivot)
                {
                    i++;
                }

                while (pivot < values[j])
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }

            if (k <= j)
            {
                hi = j;
            }
            else if (k >= i)
            {
                lo = i;
            }
            else
            {
                return;
            }
        }
    }

    /// <summary>The median (mean of the two middle values for an even count). Reorders the span.</summary>
    public static T Median<T>(Span<T> values)
        where T : INumber<T>
    {
        int n = values.Length;
        int k = n / 2;
        Select(values, k);
        if ((n & 1) == 1)
        {
            return values[k];
        }

        // The lower middle is the largest of the first half.
        var lower = values[0];
        for (int i = 1; i < k; i++)
        {
            if (values[i] > lower)
            {
                lower = values[i];
            }
        }

        return (lower + values[k]) / T.CreateChecked(2);
    }

    /// <summary>Mean of the values left after removing the <paramref name="trim"/> smallest and largest. Reorders the span.</summary>
    public static T TrimmedMean<T>(Span<T> values, int trim)
        where T : INumber<T>
    {
        int n = values.Length;
        if (trim == 0)
        {
            return Sum(values) / T.CreateChecked(n);
        }

        Select(values, trim);
        var upper = values[trim..];
        Select(upper, n - (2 * trim));
        var middle = values.Slice(trim, n - (2 * trim));
        return Sum(middle) / T.CreateChecked(middle.Length);
    }

    private static T Sum<T>(ReadOnlySpan<T> values)
        where T : INumber<T>
    {
        var s = T.Zero;
        foreach (var v in values)
        {
            s += v;
        }

        return s;
    }
}
