namespace Federate.Protocol;

/// <summary>
/// The shapes of Flower's Fleet API that Federate speaks. The SuperNode sends no version: the server tells them apart
/// by the calls a node makes (<c>CreateNode</c> or <c>RegisterNode</c>/<c>ActivateNode</c>).
/// </summary>
public enum FlowerFleetVersion
{
    /// <summary>
    /// Flower 1.19: <c>CreateNode</c>/<c>DeleteNode</c>; a pull lists <c>objects_to_pull</c> (message id -> ids); an
    /// <c>Array</c> object is protobuf with its <c>.npy</c> data inline.
    /// </summary>
    Flower119 = 119,

    /// <summary>
    /// Flower 1.23 (the same shape through 1.26): <c>RegisterNode</c>, <c>ActivateNode</c>, <c>DeactivateNode</c>,
    /// <c>UnregisterNode</c>; a pull lists the message's <c>ObjectTree</c>; a push answers the object ids to push; an
    /// <c>Array</c> object is JSON (<c>dtype</c>, <c>shape</c>, <c>stype</c>, <c>arraychunk_ids</c>) whose
    /// <c>.npy</c> data is split into <c>ArrayChunk</c> children of at most 5 MiB.
    /// </summary>
    Flower123 = 123,
}
