namespace Federate.Protocol;

/// <summary>Decrypts one chunk in place (payload encryption); returns null, or a one-line problem when it fails authentication.</summary>
public delegate string? ChunkOpener(Span<byte> data, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> tag, uint tensorIndex, ulong offset);
