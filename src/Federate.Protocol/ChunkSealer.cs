namespace Federate.Protocol;

/// <summary>Encrypts one chunk for the wire (payload encryption): returns the ciphertext, its nonce and its tag.</summary>
public delegate (ReadOnlyMemory<byte> Data, byte[] Nonce, byte[] Tag) ChunkSealer(ReadOnlyMemory<byte> plaintext, uint tensorIndex, ulong offset);
