// A Federate server hosted in ASP.NET Core: clients connect to the fleet API (gRPC over HTTP/2) and the inspector
// (dashboard, JSON API and Prometheus /metrics) answers browsers on an HTTP/1.1 port. It runs FedAvg on a small
// multilayer perceptron for the embedded 'digits' dataset (64 features, 10 classes) and exits when the run ends.
//   dotnet run -- --Rounds 5 --MinClients 2
// Clients: dotnet new federate-client, or 'federate client --server 127.0.0.1:9092 --insecure --dataset digits'.
using System.Net;
using Federate.Server;
using Federate.Server.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

var builder = WebApplication.CreateBuilder(args);
var config = builder.Configuration;
var host = IPAddress.Parse(config.GetValue("Host", "127.0.0.1")!);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(host, config.GetValue("Port", 9092), listen => listen.Protocols = HttpProtocols.Http2);
    kestrel.Listen(host, config.GetValue("InspectorPort", 8080), listen => listen.Protocols = HttpProtocols.Http1);
});

// The server's settings come from the "Federate" section (appsettings.json, FEDERATE__... variables, --Federate:...).
builder.Services.AddFederateServer(config.GetSection("Federate"));
builder.Services.AddFederateRun(_ => new StrategyRun(
    new FedAvg(),
    new RunOptions { Rounds = config.GetValue("Rounds", 5), MinNodes = config.GetValue("MinClients", 2) },
    () =>
    {
        var model = ModelFactory.Create("mlp", inputSize: 64, classCount: 10);
        model.Initialize(seed: 0);
        return model.GetParameters();
    }));

var app = builder.Build();
app.MapFederateFleet();
app.MapFederateInspector();

await app.StartAsync();
var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
Console.WriteLine($"fleet: {addresses.First()}  inspector: {addresses.Last()}/");
await app.WaitForShutdownAsync();
return app.Services.GetRequiredService<FederatedRunHost>().ExitCode ?? 1;
