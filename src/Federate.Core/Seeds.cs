namespace Federate.Core;

/// <summary>Derives independent, reproducible seeds from a run seed and labels (SplitMix64 over a stable hash).</summary>
public static class Seeds
{
    /// <summary>A 31-bit seed derived from a base seed, a number and a purpose label.</summary>
    public static int Derive(int seed, long index, string purpose)
    {
        ulong h = Mix(unchecked((ulong)seed) ^ 0x9E3779B97F4A7C15UL);
        h = Mix(h ^ unchecked((ulong)index));
        foreach (char c in purpose)
        {
            h = Mix(h ^ c);
        }

        return (int)(h & 0x7FFFFFFF);
    }

    /// <summary>A 31-bit seed derived from a base seed and two numbers.</summary>
    public static int Derive(int seed, long a, long b, string purpose) => Derive(Derive(seed, a, purpose), b, purpose);

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
