// An ASP.NET Core app that embeds a Federate server: the fleet API on an HTTP/2 endpoint, the inspector on an
// HTTP/1.1 one (browsers speak HTTP/2 only over TLS), and a FedAvg run of an MLP for the digits dataset.
// Clients: federate client --server 127.0.0.1:PORT --insecure --dataset digits --dataset-id I --num-partitions 2
using System.Net;
using Federate.Core;
using Federate.Learning;
using Federate.Server;
using Federate.Server.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

var builder = WebApplication.CreateBuilder(args);
var config = builder.Configuration;
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(IPAddress.Loopback, config.GetValue("Port", 0), listen => listen.Protocols = HttpProtocols.Http2);
    kestrel.Listen(IPAddress.Loopback, config.GetValue("InspectorPort", 0), listen => listen.Protocols = HttpProtocols.Http1);
});

builder.Services.AddFederateServer(config.GetSection("Federate"));
builder.Services.AddFederateRun(_ => new StrategyRun(
    new FedAvg(),
    new RunOptions { Rounds = config.GetValue("Rounds", 3), MinNodes = config.GetValue("MinClients", 2) },
    () => { var model = ModelFactory.Create("mlp", 64, 10); model.Initialize(0); return model.GetParameters(); }));

var app = builder.Build();
app.MapFederateFleet();
app.MapFederateInspector();

await app.StartAsync();
var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
Console.WriteLine($"fleet: {addresses.First()}  inspector: {addresses.Last()}/");
await app.WaitForShutdownAsync();
return app.Services.GetRequiredService<FederatedRunHost>().ExitCode ?? 1;
