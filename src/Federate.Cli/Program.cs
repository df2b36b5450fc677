using Federate.Cli;

return await FederateCli.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
