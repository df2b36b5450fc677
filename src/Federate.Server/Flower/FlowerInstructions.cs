using Federate.Core;

namespace Federate.Server.Flower;

/// <summary>What Flower nodes (legacy clients and SuperNodes) receive of an instruction.</summary>
internal static class FlowerInstructions
{
    /// <summary>
    /// The instruction without the config keys of <see cref="FleetServerOptions.FlowerOmittedConfigKeys"/> (the
    /// native defaults a Flower server would not send); the instruction itself when none of them is there.
    /// </summary>
    public static Message ForFlower(Message instruction, ISet<string> omitted)
    {
        if (omitted.Count == 0 || instruction.Content is not { } content
            || content.Configs.GetValueOrDefault(RecordNames.Config) is not { } config || !config.Any(kv => omitted.Contains(kv.Key)))
        {
            return instruction;
        }

        var copy = content.Copy();

        var kept = new ConfigRecord();
        foreach (var (key, value) in config.Where(kv => !omitted.Contains(kv.Key)))
        {
            kept[key] = value;
        }

        copy.Configs[RecordNames.Config] = kept;
        return new Message(instruction.Metadata, copy);
    }
}
